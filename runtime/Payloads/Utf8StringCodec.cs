using System.Buffers;
using System.Text;

namespace TypedMqtt;

/// <summary>UTF-8 text. Malformed UTF-8 (or a string with a lone surrogate) is an error, never silently replaced by U+FFFD.</summary>
public sealed class Utf8StringCodec : IMqttPayloadCodec<string>
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The shared instance.</summary>
    public static Utf8StringCodec Instance { get; } = new();

    /// <inheritdoc/>
    public string? ContentType => "text/plain; charset=utf-8";

    /// <inheritdoc/>
    public MqttPayloadFormat PayloadFormat => MqttPayloadFormat.Utf8;

    /// <inheritdoc/>
    public void Encode(string value, IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(value);
        var span = writer.GetSpan(Strict.GetMaxByteCount(value.Length));
        writer.Advance(Strict.GetBytes(value, span));
    }

    /// <inheritdoc/>
    public string Decode(ReadOnlySequence<byte> payload) => Strict.GetString(payload);
}

/// <summary>Raw bytes as a <see cref="byte"/> array (a copy of the received payload).</summary>
public sealed class ByteArrayCodec : IMqttPayloadCodec<byte[]>
{
    /// <summary>The shared instance.</summary>
    public static ByteArrayCodec Instance { get; } = new();

    /// <inheritdoc/>
    public string? ContentType => null;

    /// <inheritdoc/>
    public MqttPayloadFormat PayloadFormat => MqttPayloadFormat.Unspecified;

    /// <inheritdoc/>
    public void Encode(byte[] value, IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(value);
        writer.Write(value);
    }

    /// <inheritdoc/>
    public byte[] Decode(ReadOnlySequence<byte> payload) => payload.ToArray();
}

/// <summary>Raw bytes as <see cref="ReadOnlyMemory{T}"/> (a copy of the received payload).</summary>
public sealed class MemoryCodec : IMqttPayloadCodec<ReadOnlyMemory<byte>>
{
    /// <summary>The shared instance.</summary>
    public static MemoryCodec Instance { get; } = new();

    /// <inheritdoc/>
    public string? ContentType => null;

    /// <inheritdoc/>
    public MqttPayloadFormat PayloadFormat => MqttPayloadFormat.Unspecified;

    /// <inheritdoc/>
    public void Encode(ReadOnlyMemory<byte> value, IBufferWriter<byte> writer) => writer.Write(value.Span);

    /// <inheritdoc/>
    public ReadOnlyMemory<byte> Decode(ReadOnlySequence<byte> payload) => payload.ToArray();
}
