using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace TypedMqtt;

/// <summary>
/// JSON through System.Text.Json source-generated metadata (<see cref="JsonTypeInfo{T}"/>): no reflection, trim- and
/// AOT-safe. Reads straight from the received buffers without copying.
/// </summary>
/// <typeparam name="T">The payload type.</typeparam>
public sealed class JsonPayloadCodec<T> : IMqttPayloadCodec<T>
{
    private readonly JsonTypeInfo<T> _typeInfo;
    private readonly bool _allowNull;
    private readonly JsonReaderOptions _readerOptions;
    private readonly JsonWriterOptions _writerOptions;

    /// <summary>Creates the codec.</summary>
    /// <param name="typeInfo">Metadata from a <c>JsonSerializerContext</c>.</param>
    /// <param name="allowNull">Whether a JSON <c>null</c> payload is a valid value (for nullable payload types).</param>
    public JsonPayloadCodec(JsonTypeInfo<T> typeInfo, bool allowNull = false)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        _typeInfo = typeInfo;
        _allowNull = allowNull;
        var options = typeInfo.Options;
        _readerOptions = new JsonReaderOptions
        {
            MaxDepth = options.MaxDepth == 0 ? 64 : options.MaxDepth,
            CommentHandling = options.ReadCommentHandling,
            AllowTrailingCommas = options.AllowTrailingCommas,
        };
        _writerOptions = new JsonWriterOptions
        {
            Encoder = options.Encoder,
            Indented = options.WriteIndented,
            // Never 0: a writer reports 0 as its default depth, and the cached writer is reused only on equal options.
            MaxDepth = options.MaxDepth == 0 ? 64 : options.MaxDepth,
            SkipValidation = true,
        };
    }

    /// <inheritdoc/>
    public string? ContentType => "application/json";

    /// <inheritdoc/>
    public MqttPayloadFormat PayloadFormat => MqttPayloadFormat.Utf8;

    /// <inheritdoc/>
    /// <remarks><see langword="null"/> encodes as an empty payload (not the JSON literal), which also clears a retained topic.</remarks>
    public void Encode(T value, IBufferWriter<byte> writer)
    {
        if (value is null)
        {
            return;
        }

        // One writer per thread, reset for each message: encoding is synchronous, so it is never shared.
        var json = _cachedWriter;
        if (json is null || !SameOptions(json.Options, _writerOptions))
        {
            json = new Utf8JsonWriter(writer, _writerOptions);
            _cachedWriter = json;
        }
        else
        {
            json.Reset(writer);
        }

        try
        {
            JsonSerializer.Serialize(json, value, _typeInfo);
        }
        finally
        {
            json.Reset(NoOutput.Instance);
        }
    }

    [ThreadStatic]
    private static Utf8JsonWriter? _cachedWriter;

    private static bool SameOptions(JsonWriterOptions a, JsonWriterOptions b) =>
        ReferenceEquals(a.Encoder, b.Encoder) && a.Indented == b.Indented && a.MaxDepth == b.MaxDepth && a.SkipValidation == b.SkipValidation;

    /// <summary>Where a cached writer points between messages, so it holds no caller's buffer.</summary>
    private sealed class NoOutput : IBufferWriter<byte>
    {
        public static readonly NoOutput Instance = new();

        public void Advance(int count) => throw new InvalidOperationException();

        public Memory<byte> GetMemory(int sizeHint = 0) => throw new InvalidOperationException();

        public Span<byte> GetSpan(int sizeHint = 0) => throw new InvalidOperationException();
    }

    /// <inheritdoc/>
    /// <remarks>
    /// An empty payload (the standard way to clear a retained topic) decodes to <see langword="null"/> for a nullable
    /// payload type; for a non-nullable one it throws <see cref="MqttEmptyPayloadException"/>, and a subscription skips
    /// the message (a clear is not a failure).
    /// </remarks>
    public T Decode(ReadOnlySequence<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return _allowNull ? default! : throw new MqttEmptyPayloadException(typeof(T));
        }

        var reader = new Utf8JsonReader(payload, _readerOptions);
        var value = JsonSerializer.Deserialize(ref reader, _typeInfo);
        if (value is null && !_allowNull)
        {
            throw new JsonException($"The payload is JSON null (or empty), but {typeof(T).Name} is not nullable.");
        }

        return value!;
    }
}
