namespace TypedMqtt;

/// <summary>
/// MQTT 5 properties of one published message. Every property is optional; on MQTT 3.1/3.1.1
/// connections setting any of them is an error raised before anything is sent, unless they are
/// <see cref="Mqtt5Only"/> (a contract's declared properties), which are then left out.
/// </summary>
public sealed record MqttMessageProperties
{
    /// <summary>An empty set of properties.</summary>
    public static MqttMessageProperties Empty { get; } = new();

    /// <summary>MIME type of the payload, for example <c>application/json</c>.</summary>
    public string? ContentType { get; init; }

    /// <summary>Whether the payload is UTF-8 text. <see langword="null"/> leaves it to the payload codec.</summary>
    public MqttPayloadFormat? PayloadFormat { get; init; }

    /// <summary>Seconds after which the broker discards the message if it was not delivered.</summary>
    public uint? MessageExpiryInterval { get; init; }

    /// <summary>Topic the receiver should answer on (request/response).</summary>
    public string? ResponseTopic { get; init; }

    /// <summary>Opaque bytes that tie a response to its request.</summary>
    public ReadOnlyMemory<byte> CorrelationData { get; init; }

    /// <summary>User properties, in order; names may repeat.</summary>
    public IReadOnlyList<MqttUserProperty> UserProperties { get; init; } = [];

    /// <summary>
    /// Defaults that only MQTT 5 can carry, such as a contract's declared expiry or user properties: sent on MQTT 5, left
    /// out on MQTT 3.1 and 3.1.1 (which have no message properties) instead of failing the publish. Properties passed to
    /// a call are never dropped: merged with them (<see cref="MergeWith"/>), the result is no longer MQTT 5 only.
    /// </summary>
    public bool Mqtt5Only { get; init; }

    /// <summary>True when no property is set.</summary>
    public bool IsEmpty =>
        ContentType is null && PayloadFormat is null && MessageExpiryInterval is null &&
        ResponseTopic is null && CorrelationData.IsEmpty && UserProperties.Count == 0;

    /// <summary>Returns these properties with <paramref name="other"/>'s set values taking precedence; user properties are concatenated.</summary>
    /// <param name="other">Properties that override these, or <see langword="null"/>.</param>
    public MqttMessageProperties MergeWith(MqttMessageProperties? other)
    {
        if (other is null || other.IsEmpty)
        {
            return this;
        }

        if (IsEmpty)
        {
            return other;
        }

        // Declared defaults merged with a call's own properties: the call asked for them, so they are not dropped on MQTT 3.

        return new MqttMessageProperties
        {
            Mqtt5Only = Mqtt5Only && other.Mqtt5Only,
            ContentType = other.ContentType ?? ContentType,
            PayloadFormat = other.PayloadFormat ?? PayloadFormat,
            MessageExpiryInterval = other.MessageExpiryInterval ?? MessageExpiryInterval,
            ResponseTopic = other.ResponseTopic ?? ResponseTopic,
            CorrelationData = other.CorrelationData.IsEmpty ? CorrelationData : other.CorrelationData,
            UserProperties = other.UserProperties.Count == 0 ? UserProperties
                : UserProperties.Count == 0 ? other.UserProperties
                : [.. UserProperties, .. other.UserProperties],
        };
    }
}
