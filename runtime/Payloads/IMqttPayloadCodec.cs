using System.Buffers;

namespace TypedMqtt;

/// <summary>
/// Converts payloads of type <typeparamref name="T"/> to and from bytes. Implement it for formats TypedMqtt does not ship
/// (Protobuf, CBOR, MessagePack...) and name the implementation in <see cref="PublishAttribute.Codec"/> /
/// <see cref="SubscribeAttribute.Codec"/>. Implementations must be thread-safe.
/// </summary>
/// <typeparam name="T">The payload type.</typeparam>
public interface IMqttPayloadCodec<T>
{
    /// <summary>MQTT 5 content type sent with each message (on MQTT 5 connections), or <see langword="null"/>.</summary>
    string? ContentType { get; }

    /// <summary>Whether encoded payloads are UTF-8 text (sent as the MQTT 5 payload format indicator).</summary>
    MqttPayloadFormat PayloadFormat { get; }

    /// <summary>Writes <paramref name="value"/> to <paramref name="writer"/>.</summary>
    /// <param name="value">The value.</param>
    /// <param name="writer">Where the bytes go.</param>
    void Encode(T value, IBufferWriter<byte> writer);

    /// <summary>Reads a value; throws when the payload is malformed (the message then goes to the error callback).</summary>
    /// <param name="payload">The payload bytes, valid only during the call.</param>
    /// <returns>The value.</returns>
    T Decode(ReadOnlySequence<byte> payload);
}
