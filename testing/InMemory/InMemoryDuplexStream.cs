using System.Threading.Channels;

namespace TypedMqtt.InMemory;

/// <summary>
/// One end of an in-memory, full-duplex byte stream: what one end writes, the other reads, in order. Each direction is a
/// bounded queue of copied chunks, so a writer far ahead of its reader waits (back pressure) instead of growing memory
/// without bound. Disposing an end is a close: the other end reads the end of the stream (0), and its writes fail with
/// <see cref="IOException"/>, as on a socket whose peer went away.
/// </summary>
internal sealed class InMemoryDuplexStream : Stream
{
    /// <summary>Chunks in flight per direction before a writer waits.</summary>
    private const int Capacity = 256;

    private readonly Channel<byte[]> _incoming;
    private readonly Channel<byte[]> _outgoing;
    private byte[] _current = [];
    private int _offset;
    private int _disposed;

    private InMemoryDuplexStream(Channel<byte[]> incoming, Channel<byte[]> outgoing)
    {
        _incoming = incoming;
        _outgoing = outgoing;
    }

    /// <summary>Creates two connected ends.</summary>
    /// <returns>The two ends; what one writes the other reads.</returns>
    public static (InMemoryDuplexStream A, InMemoryDuplexStream B) CreatePair()
    {
        var aToB = NewDirection();
        var bToA = NewDirection();
        return (new InMemoryDuplexStream(bToA, aToB), new InMemoryDuplexStream(aToB, bToA));
    }

    public override bool CanRead => Volatile.Read(ref _disposed) == 0;

    public override bool CanWrite => Volatile.Read(ref _disposed) == 0;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (buffer.IsEmpty)
        {
            return new ValueTask<int>(0);
        }

        if (_offset == _current.Length && _incoming.Reader.TryRead(out var next))
        {
            _current = next;
            _offset = 0;
        }

        return _offset < _current.Length ? new ValueTask<int>(Take(buffer.Span)) : WaitAndReadAsync(buffer, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (buffer.IsEmpty)
        {
            return;
        }

        try
        {
            await _outgoing.Writer.WriteAsync(buffer.ToArray(), cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw new IOException("The other end of the in-memory connection is closed.", e);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _outgoing.Writer.TryComplete(); // the other end reads the end of the stream
            _incoming.Writer.TryComplete(new IOException("The other end of the in-memory connection is closed.")); // its writes fail
        }

        base.Dispose(disposing);
    }

    private static Channel<byte[]> NewDirection() => Channel.CreateBounded<byte[]>(new BoundedChannelOptions(Capacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private async ValueTask<int> WaitAndReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            _current = await _incoming.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return 0; // the other end closed (or this one did): the end of the stream
        }
        catch (IOException)
        {
            return 0;
        }

        _offset = 0;
        return Take(buffer.Span);
    }

    private int Take(Span<byte> destination)
    {
        var count = Math.Min(destination.Length, _current.Length - _offset);
        _current.AsSpan(_offset, count).CopyTo(destination);
        _offset += count;
        return count;
    }
}
