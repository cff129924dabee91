namespace TypedMqtt;

/// <summary>
/// An empty payload (the standard way to clear a retained topic) arrived for a payload type that cannot be absent. A
/// subscription skips such a message: its handler is not called and nothing is reported, because a clear is not a
/// failure. Declare the handler's payload type nullable to receive clears as <see langword="null"/>.
/// </summary>
public sealed class MqttEmptyPayloadException : FormatException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="payloadType">The payload type that cannot be absent.</param>
    public MqttEmptyPayloadException(Type payloadType)
        : base($"The payload is empty (a cleared retained topic), but {payloadType?.Name} is not nullable; declare it nullable to receive clears as null.")
    {
        PayloadType = payloadType;
    }

    /// <summary>The payload type that cannot be absent.</summary>
    public Type? PayloadType { get; }
}
