namespace TypedMqtt;

/// <summary>Counters of one connection since it was opened; a snapshot.</summary>
public sealed record MqttConnectionStatistics
{
    /// <summary>Publishes completed: written (QoS 0) or acknowledged (QoS 1/2).</summary>
    public long Completed { get; init; }

    /// <summary>QoS 1/2 publishes sent again after the connection dropped before their acknowledgement (QoS 1 receivers may see duplicates).</summary>
    public long Resent { get; init; }

    /// <summary>Publishes that went into the offline queue.</summary>
    public long Queued { get; init; }

    /// <summary>Queued publishes dropped by <see cref="MqttOfflinePolicy.DropOldest"/>, superseded by <see cref="MqttOfflinePolicy.KeepLatestPerTopic"/>, or expired (their message expiry interval ran out) before they could be sent.</summary>
    public long Dropped { get; init; }

    /// <summary>Topic bytes not sent because an outbound topic alias stood in for them (MQTT 5, <see cref="MqttConnectionOptions.UseTopicAliases"/>).</summary>
    public long TopicAliasBytesSaved { get; init; }

    /// <summary>Publishes refused by <see cref="MqttOfflinePolicy.FailFast"/> or a full queue.</summary>
    public long Rejected { get; init; }

    /// <summary>The most QoS 1/2 publishes that were awaiting acknowledgement at once.</summary>
    public int MaxInFlight { get; init; }

    /// <summary>Successful reconnects.</summary>
    public int Reconnects { get; init; }

    /// <summary>Connections found dead by the keep-alive watchdog (no answer to a ping in time).</summary>
    public int DeadConnectionsDetected { get; init; }

    /// <summary>Messages now in the offline queue.</summary>
    public int QueueLength { get; init; }

    /// <summary>QoS 1/2 publishes now sent and awaiting their acknowledgement.</summary>
    public int InFlight { get; init; }

    /// <summary>Requests sent (<see cref="MqttConnection.RequestAsync{TRequest, TReply}"/> and <c>[Request]</c> operations).</summary>
    public long Requests { get; init; }

    /// <summary>Requests that got no reply within their timeout.</summary>
    public long RequestTimeouts { get; init; }

    /// <summary>Replies dropped because their request had already timed out or been cancelled.</summary>
    public long LateReplies { get; init; }

    /// <summary>Replies dropped because no request of this connection has their correlation data (for example replies to a previous process).</summary>
    public long UnknownReplies { get; init; }
}
