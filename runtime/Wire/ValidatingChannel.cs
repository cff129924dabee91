using System.Buffers;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Channel;

namespace TypedMqtt.Wire;

/// <summary>
/// The TCP channel (<see cref="TcpChannel"/>) or the WebSocket one (<see cref="WebSocketChannel"/>), with every inbound byte checked by an
/// <see cref="InboundPacketValidator"/> and outbound packets coalesced into fewer writes by a <see cref="CoalescingWriter"/>.
/// </summary>
internal sealed class ValidatingChannel(IMqttChannel inner, InboundPacketValidator validator) : IMqttChannel
{
    public X509Certificate2 ClientCertificate => inner.ClientCertificate;

    public EndPoint RemoteEndPoint => inner.RemoteEndPoint;

    public EndPoint LocalEndPoint => inner.LocalEndPoint;

    public bool IsSecureConnection => inner.IsSecureConnection;

    public Task ConnectAsync(CancellationToken cancellationToken) => inner.ConnectAsync(cancellationToken);

    public async Task DisconnectAsync(CancellationToken cancellationToken)
    {
        // A DISCONNECT still in the buffer must reach the broker before the socket closes (or the broker sends the will).
        try
        {
            await _writer.FlushPendingAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or MQTTnet.Exceptions.MqttCommunicationException or System.Net.Sockets.SocketException)
        {
            // The socket already failed; closing it is all that is left.
        }

        if (_sentDisconnect)
        {
            _tcp?.CloseGracefully();
        }

        await inner.DisconnectAsync(cancellationToken).ConfigureAwait(false);
    }

    // Read-ahead: the socket is read in large chunks, each checked whole by the validator before any of it is handed to
    // MQTTnet, whose small reads (fixed header, remaining length, body) are then served from the chunk. One socket read
    // per burst of packets instead of two or three per packet; results served from the chunk reuse cached tasks.
    // The chunk starts small (an idle connection waits on 512 bytes) and grows to 16 KB, borrowed from the shared pool, while
    // reads fill it (a burst); it goes back to the small one once a read uses less than an eighth of the large one.
    // A pending read keeps its buffer, so arriving bytes leave the kernel at once.
    private const int SmallChunk = 512;
    private const int LargeChunk = 16 * 1024;
    private readonly byte[] _small = new byte[SmallChunk];
    private byte[]? _large;
    private bool _grow;

    private byte[] Chunk => _large ?? _small;
    private readonly TcpChannel? _tcp = inner as TcpChannel;
    private readonly IValueTaskChannel? _reader = inner as IValueTaskChannel;
    // Completed read results, shared by every connection (a completed task never changes): 0 to 1 KB, filled on first use.
    private static readonly Task<int>?[] CompletedReads = new Task<int>?[1025];
    private int _chunkStart;
    private int _chunkEnd;
    private System.Runtime.ExceptionServices.ExceptionDispatchInfo? _violation;

    public Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        if (_chunkEnd > _chunkStart)
        {
            return ServedTask(Serve(buffer, offset, count));
        }

        // The valid packets that came before a violation in the same chunk have been served: now the violation.
        _violation?.Throw();

        Resize();

        // Our channels are read as a ValueTask (no task when the read waits); any other through MQTTnet's interface.
        var reading = _reader?.ReadAsync(Chunk, cancellationToken) ?? new ValueTask<int>(inner.ReadAsync(Chunk, 0, Chunk.Length, cancellationToken));
        if (!reading.IsCompletedSuccessfully)
        {
            return ReadChunkAsync(reading, buffer, offset, count);
        }

        var read = reading.Result;
        if (read == 0)
        {
            return ServedTask(0); // end of stream
        }

        Accept(read);
        return ServedTask(Serve(buffer, offset, count));
    }

    private async Task<int> ReadChunkAsync(ValueTask<int> reading, byte[] buffer, int offset, int count)
    {
        var read = await reading.ConfigureAwait(false);

        if (read == 0)
        {
            return 0;
        }

        Accept(read);
        return Serve(buffer, offset, count);
    }

    /// <summary>Before a read, with nothing left to serve: a large chunk after a read that filled the small one, the small one after a read that used little of the large one.</summary>
    private void Resize()
    {
        if (_grow && _large is null)
        {
            _large = ArrayPool<byte>.Shared.Rent(LargeChunk);
        }
        else if (!_grow && _large is { } large)
        {
            _large = null;
            ArrayPool<byte>.Shared.Return(large);
        }
    }

    /// <summary>Checks a chunk just read (throws on a violation, so none of it reaches MQTTnet) and makes it the one to serve.</summary>
    private void Accept(int read)
    {
        _grow = _large is null ? read == SmallChunk : read >= LargeChunk / 8;
        _chunkStart = 0;
        try
        {
            validator.Feed(Chunk.AsSpan(0, read));
            _chunkEnd = read;
        }
        catch (MqttProtocolViolation e) when (validator.CurrentPacketStart > 0)
        {
            // Whole, valid packets precede the bad one in this chunk: MQTTnet gets them first, then the violation.
            _violation = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
            _chunkEnd = validator.CurrentPacketStart;
        }
    }

    private int Serve(byte[] buffer, int offset, int count)
    {
        var take = Math.Min(count, _chunkEnd - _chunkStart);
        Chunk.AsSpan(_chunkStart, take).CopyTo(buffer.AsSpan(offset));
        _chunkStart += take;
        return take;
    }

    /// <summary>A completed task for <paramref name="count"/>; the same sizes recur (headers, equal messages), so they are cached.</summary>
    private static Task<int> ServedTask(int count) =>
        (uint)count < (uint)CompletedReads.Length ? CompletedReads[count] ??= Task.FromResult(count) : Task.FromResult(count);

    private readonly CoalescingWriter _writer = new(inner);

    private bool _atPacketStart = true;
    private bool _sentDisconnect;

    public Task WriteAsync(ReadOnlySequence<byte> buffer, bool isEndOfPacket, CancellationToken cancellationToken)
    {
        // A DISCONNECT (fixed header 0xE0) makes the close a graceful one; any other end of the link resets it.
        if (_atPacketStart && !buffer.IsEmpty && buffer.FirstSpan[0] == 0xE0)
        {
            _sentDisconnect = true;
        }

        _atPacketStart = isEndOfPacket;
        return _writer.WriteAsync(buffer, isEndOfPacket);
    }

    public void Dispose()
    {
        _writer.Dispose();
        inner.Dispose();
    }
}

/// <summary>What the inbound validator of one connection enforces.</summary>
/// <param name="Version5">Whether the connection speaks MQTT 5.</param>
/// <param name="MaximumPacketSize">The largest packet accepted from the broker.</param>
/// <param name="TopicAliasMaximum">The most topic aliases the broker may use toward us.</param>
internal sealed record InboundLimits(bool Version5, long MaximumPacketSize, ushort TopicAliasMaximum)
{
    /// <summary>Largest packet accepted when the application set no maximum packet size: generous, but a hostile length is refused before anything is allocated.</summary>
    public const long DefaultInboundPacketLimit = 16 * 1024 * 1024;
}
