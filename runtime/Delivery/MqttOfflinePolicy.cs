namespace TypedMqtt;

/// <summary>What a publish does while the connection is down (or its offline queue is full).</summary>
public enum MqttOfflinePolicy
{
    /// <summary>Queue it and send it after reconnect; when the queue is full the publish fails at once.</summary>
    Queue,

    /// <summary>Queue it; when the queue is full the oldest queued message is dropped (its publish fails) to make room.</summary>
    DropOldest,

    /// <summary>Queue it, replacing any queued message for the same topic (that older publish fails as superseded).</summary>
    KeepLatestPerTopic,

    /// <summary>Fail at once with <see cref="MqttOperationException"/> while disconnected.</summary>
    FailFast,
}

/// <summary>The bounded queue that holds publishes while the connection is down, and its policies.</summary>
public sealed record MqttOfflineQueueOptions
{
    /// <summary>Defaults: 10,000 messages; QoS 0 drops the oldest when full, QoS 1/2 queue and fail when full.</summary>
    public static MqttOfflineQueueOptions Default { get; } = new();

    /// <summary>Most messages held at once (all QoS together).</summary>
    public int Capacity { get; init; } = 10_000;

    /// <summary>Policy for QoS 0 publishes (at most once: losing one is allowed). Default <see cref="MqttOfflinePolicy.DropOldest"/>.</summary>
    public MqttOfflinePolicy AtMostOncePolicy { get; init; } = MqttOfflinePolicy.DropOldest;

    /// <summary>Policy for QoS 1 and 2 publishes. Default <see cref="MqttOfflinePolicy.Queue"/>.</summary>
    public MqttOfflinePolicy ReliablePolicy { get; init; } = MqttOfflinePolicy.Queue;
}
