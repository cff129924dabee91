namespace TypedMqtt;

/// <summary>
/// The last will: a message the broker publishes on the client's behalf when the connection ends without a
/// normal DISCONNECT (or with DISCONNECT reason 0x04).
/// </summary>
public sealed record MqttWill
{
    /// <summary>Creates a will for <paramref name="topic"/> with the given payload bytes.</summary>
    /// <param name="topic">The topic the will is published to; no wildcards.</param>
    /// <param name="payload">The will payload.</param>
    public MqttWill(string topic, ReadOnlyMemory<byte> payload)
    {
        Topic = topic;
        Payload = payload;
    }

    /// <summary>The topic the will is published to.</summary>
    public string Topic { get; init; }

    /// <summary>The will payload.</summary>
    public ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>QoS of the will message.</summary>
    public MqttQos Qos { get; init; } = MqttQos.AtMostOnce;

    /// <summary>Whether the broker retains the will message.</summary>
    public bool Retain { get; init; }

    /// <summary>MQTT 5: seconds the broker waits after the connection ends before publishing the will.</summary>
    public uint DelayInterval { get; init; }

    /// <summary>MQTT 5: content type, expiry, response topic, correlation data, payload format and user properties of the will.</summary>
    public MqttMessageProperties Properties { get; init; } = MqttMessageProperties.Empty;
}
