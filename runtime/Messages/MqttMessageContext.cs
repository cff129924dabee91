namespace TypedMqtt;

/// <summary>Everything about a received message except its decoded payload: flags and every MQTT 5 property.</summary>
public sealed class MqttMessageContext
{
    /// <summary>The topic the message was published to (after topic alias resolution).</summary>
    public required string Topic { get; init; }

    /// <summary>The QoS it was delivered with.</summary>
    public MqttQos Qos { get; init; }

    /// <summary>True when the message came from the broker's retained store (for example to a late subscriber).</summary>
    public bool Retain { get; init; }

    /// <summary>True when the broker flagged it as a possible re-delivery (DUP).</summary>
    public bool Duplicate { get; init; }

    /// <summary>MQTT 5 content type.</summary>
    public string? ContentType { get; init; }

    /// <summary>MQTT 5 payload format indicator.</summary>
    public MqttPayloadFormat PayloadFormat { get; init; }

    /// <summary>MQTT 5 remaining message expiry in seconds, or <see langword="null"/> when the message does not expire.</summary>
    public uint? MessageExpiryInterval { get; init; }

    /// <summary>MQTT 5 response topic.</summary>
    public string? ResponseTopic { get; init; }

    /// <summary>MQTT 5 correlation data.</summary>
    public ReadOnlyMemory<byte> CorrelationData { get; init; }

    /// <summary>MQTT 5 user properties, in order.</summary>
    public IReadOnlyList<MqttUserProperty> UserProperties { get; init; } = [];

    /// <summary>MQTT 5 subscription identifiers of the subscriptions that matched.</summary>
    public IReadOnlyList<uint> SubscriptionIdentifiers { get; init; } = [];

    /// <summary>MQTT 5 topic alias the broker used, or 0.</summary>
    public ushort TopicAlias { get; init; }

    /// <summary>Returns the value of the first user property with this name, or <see langword="null"/>.</summary>
    /// <param name="name">Property name (ordinal comparison).</param>
    /// <returns>The value or <see langword="null"/>.</returns>
    public string? GetUserProperty(string name)
    {
        foreach (var property in UserProperties)
        {
            if (string.Equals(property.Name, name, StringComparison.Ordinal))
            {
                return property.Value;
            }
        }

        return null;
    }
}
