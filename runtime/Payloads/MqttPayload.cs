using System.ComponentModel;

namespace TypedMqtt;

/// <summary>Payload helpers used by generated clients.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class MqttPayload
{
    /// <summary>Encodes a value into a new array (for wills, which MQTTnet keeps for the whole connection).</summary>
    /// <typeparam name="T">The payload type.</typeparam>
    /// <param name="codec">The codec.</param>
    /// <param name="value">The value.</param>
    /// <returns>The encoded bytes.</returns>
    public static ReadOnlyMemory<byte> Encode<T>(IMqttPayloadCodec<T> codec, T value)
    {
        ArgumentNullException.ThrowIfNull(codec);
        using var buffer = new PooledBufferWriter();
        codec.Encode(value, buffer);
        return buffer.WrittenMemory.ToArray();
    }

    /// <summary>
    /// The MQTT 5 properties of a contract's will, on MQTT 5 only: the declared ones, plus the codec's content type and
    /// payload format when the connection sends them for publishes too (<see cref="MqttConnectionOptions.SendCodecContentType"/>).
    /// </summary>
    /// <typeparam name="T">The payload type.</typeparam>
    /// <param name="options">The connection options (for the protocol version).</param>
    /// <param name="codec">The codec.</param>
    /// <param name="declared">Properties declared on the contract.</param>
    /// <returns>The will properties.</returns>
    public static MqttMessageProperties WillProperties<T>(MqttConnectionOptions options, IMqttPayloadCodec<T> codec, MqttMessageProperties declared)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(declared);
        if (options.ProtocolVersion != MqttVersion.V500)
        {
            return MqttMessageProperties.Empty;
        }

        // The codec's content type and payload format follow the same opt-in as publishes (WithCodecContentType);
        // what the contract declares is always sent.
        if (!options.SendCodecContentType)
        {
            return declared;
        }

        return declared with
        {
            ContentType = declared.ContentType ?? codec.ContentType,
            PayloadFormat = declared.PayloadFormat ?? (codec.PayloadFormat == MqttPayloadFormat.Utf8 ? MqttPayloadFormat.Utf8 : null),
        };
    }
}
