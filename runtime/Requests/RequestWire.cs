using System.Buffers.Binary;
using System.Text;

namespace TypedMqtt.Requests;

/// <summary>
/// What requester and responder agree on besides MQTT 5's Response Topic and Correlation Data: how a failed request is
/// answered. An error reply carries the user property <see cref="ErrorProperty"/> (the responder's exception type) and
/// the error message as its UTF-8 payload; any other reply is the encoded result.
/// </summary>
internal static class RequestWire
{
    /// <summary>The user property that marks an error reply; its value names the error (the handler's exception type).</summary>
    public const string ErrorProperty = "typedmqtt-error";

    /// <summary>Correlation data: an 8-byte requester nonce (one per connection) and an 8-byte call number.</summary>
    public const int CorrelationLength = 16;

    /// <summary>The longest error message sent back, in characters (a stack of messages must not outgrow the broker's packet limit).</summary>
    private const int MaxErrorMessageLength = 4096;

    public static byte[] Correlation(long nonce, long call)
    {
        var bytes = new byte[CorrelationLength];
        BinaryPrimitives.WriteInt64BigEndian(bytes, nonce);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(8), call);
        return bytes;
    }

    /// <summary>Reads correlation data back; false when it is not one of ours (wrong length).</summary>
    public static bool TryReadCorrelation(ReadOnlySpan<byte> data, out long nonce, out long call)
    {
        if (data.Length != CorrelationLength)
        {
            nonce = call = 0;
            return false;
        }

        nonce = BinaryPrimitives.ReadInt64BigEndian(data);
        call = BinaryPrimitives.ReadInt64BigEndian(data[8..]);
        return true;
    }

    /// <summary>The properties and payload of an error reply: <paramref name="errorType"/> names the error, <paramref name="message"/> says what went wrong.</summary>
    public static (MqttMessageProperties Properties, byte[] Payload) ErrorReply(ReadOnlyMemory<byte> correlation, string errorType, string message)
    {
        if (message.Length > MaxErrorMessageLength)
        {
            message = message[..MaxErrorMessageLength] + "...";
        }

        var properties = new MqttMessageProperties
        {
            CorrelationData = correlation,
            ContentType = "text/plain; charset=utf-8",
            PayloadFormat = MqttPayloadFormat.Utf8,
            UserProperties = [new MqttUserProperty(ErrorProperty, errorType)],
        };
        return (properties, Encoding.UTF8.GetBytes(message));
    }
}
