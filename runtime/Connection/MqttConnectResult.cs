namespace TypedMqtt;

/// <summary>What the server said in CONNACK. On MQTT 3.1/3.1.1 the v5-only fields hold the protocol defaults.</summary>
public sealed record MqttConnectResult
{
    /// <summary>The server that accepted the connection (without credentials), e.g. <c>mqtt://b:1883</c>: one of the failover servers, or where a redirect led.</summary>
    public string ServerAddress { get; init; } = string.Empty;

    /// <summary>True when the server resumed an existing session (subscriptions and queued messages are still there).</summary>
    public bool IsSessionPresent { get; init; }

    /// <summary>The client id the server assigned, when it assigned one.</summary>
    public string? AssignedClientId { get; init; }

    /// <summary>The client id in use: the assigned one, or the one we sent.</summary>
    public string ClientId { get; init; } = string.Empty;

    /// <summary>Keep alive the server requires, overriding ours (MQTT 5), or <see langword="null"/>.</summary>
    public TimeSpan? ServerKeepAlive { get; init; }

    /// <summary>Highest QoS the server accepts for our publishes.</summary>
    public MqttQos MaximumQos { get; init; } = MqttQos.ExactlyOnce;

    /// <summary>Whether the server supports retained messages.</summary>
    public bool RetainAvailable { get; init; } = true;

    /// <summary>Largest packet the server accepts, or <see langword="null"/> for no limit.</summary>
    public uint? MaximumPacketSize { get; init; }

    /// <summary>How many unacknowledged QoS 1/2 publishes the server accepts from us at once.</summary>
    public ushort ReceiveMaximum { get; init; } = ushort.MaxValue;

    /// <summary>Highest topic alias the server accepts from us (0 = none).</summary>
    public ushort TopicAliasMaximum { get; init; }

    /// <summary>Whether wildcard subscriptions are available.</summary>
    public bool WildcardSubscriptionAvailable { get; init; } = true;

    /// <summary>Whether shared subscriptions (<c>$share/group/filter</c>) are available.</summary>
    public bool SharedSubscriptionAvailable { get; init; } = true;

    /// <summary>Whether subscription identifiers are available.</summary>
    public bool SubscriptionIdentifiersAvailable { get; init; } = true;

    /// <summary>Session expiry the server chose, if it overrode ours.</summary>
    public uint? SessionExpiryInterval { get; init; }

    /// <summary>Response information (when requested).</summary>
    public string? ResponseInformation { get; init; }

    /// <summary>Another server the client should use.</summary>
    public string? ServerReference { get; init; }

    /// <summary>Human-readable reason from the server.</summary>
    public string? ReasonString { get; init; }

    /// <summary>Enhanced authentication method echoed by the server.</summary>
    public string? AuthenticationMethod { get; init; }

    /// <summary>Enhanced authentication data from the server.</summary>
    public ReadOnlyMemory<byte> AuthenticationData { get; init; }

    /// <summary>User properties in CONNACK.</summary>
    public IReadOnlyList<MqttUserProperty> UserProperties { get; init; } = [];
}
