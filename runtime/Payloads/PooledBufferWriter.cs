using System.Buffers;

namespace TypedMqtt;

/// <summary>An <see cref="IBufferWriter{T}"/> over arrays rented from <see cref="ArrayPool{T}.Shared"/>; return them with <see cref="Dispose"/>.</summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer;
    private int _written;

    // One writer per thread for Encode: the publish path allocates no writer, only rents the array it hands over.
    [ThreadStatic]
    private static PooledBufferWriter? _threadEncoder;

    public PooledBufferWriter(int initialCapacity = 256) => _buffer = ArrayPool<byte>.Shared.Rent(initialCapacity);

    /// <summary>
    /// Encodes <paramref name="value"/> into an array rented from <see cref="ArrayPool{T}.Shared"/>; the caller owns it
    /// and returns it to the pool. Nothing stays rented if the codec throws.
    /// </summary>
    public static (byte[] Rented, int Length) Encode<T>(T value, IMqttPayloadCodec<T> codec)
    {
        var writer = _threadEncoder ??= new PooledBufferWriter(0);
        if (writer._buffer.Length == 0)
        {
            writer._buffer = ArrayPool<byte>.Shared.Rent(256);
        }

        try
        {
            codec.Encode(value, writer);
        }
        catch
        {
            writer._written = 0;
            throw;
        }

        var result = (writer._buffer, writer._written);
        writer._buffer = [];
        writer._written = 0;
        return result;
    }

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _written = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Ensure(int sizeHint)
    {
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
        {
            return;
        }

        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _written).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
