using System.Buffers;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Adapter;
using MQTTnet.Channel;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Packets;

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

    // Read-ahead: the socket is read in large chunks, each checked whole by the validator before any of it is decoded,
    // and packets are decoded from the chunk (ReceivePacketAsync). One socket read per burst of packets.
    // The chunk starts small (an idle connection waits on 512 bytes) and grows to 16 KB, borrowed from the shared pool, while
    // reads fill it (a burst); it goes back to the small one once a read uses less than an eighth of the large one.
    // A pending read keeps its buffer, so arriving bytes leave the kernel at once.
    private const int SmallChunk = 512;
    private const int LargeChunk = 16 * 1024;
    private readonly byte[] _small = new byte[SmallChunk];
    private byte[]? _large;
    private bool _grow;

    private byte[] Chunk => _large ?? _small;

    /// <summary>Whether the next packet (or the start of it, or a violation) is already read: the next read returns without waiting.</summary>
    public bool HasBuffered => _chunkEnd > _chunkStart || _violation is not null;

    /// <summary>Whether reads block the calling thread (<see cref="TcpChannel.Blocking"/>): the link reads on a thread of its own.</summary>
    public bool ReadsBlocking => _tcp?.Blocking == true;
    private readonly TcpChannel? _tcp = inner as TcpChannel;
    private readonly IValueTaskChannel? _reader = inner as IValueTaskChannel;
    private int _chunkStart;
    private int _chunkEnd;
    private System.Runtime.ExceptionServices.ExceptionDispatchInfo? _violation;

    // A packet's fixed header while it is split between two reads: the type and flags byte and up to four bytes of length.
    private readonly byte[] _header = new byte[5];
    private const int LargestPooledBody = 1024 * 1024;

    /// <summary>
    /// Reads the next packet and decodes it with <paramref name="formatter"/>; null at the end of the stream. A packet that
    /// lies whole in the chunk is decoded where it lies (MQTTnet's decoder copies what it keeps: the payload, strings,
    /// binary properties), so it costs no buffer and, since most do, no task: only a packet that continues in the next
    /// socket read goes through <see cref="ReceiveSpanningAsync"/>, whose state machine is pooled. MQTTnet's adapter read
    /// each packet in three steps, each an asynchronous method, and copied its body into an array of its own.
    /// </summary>
    public ValueTask<MqttPacket?> ReceivePacketAsync(MqttPacketFormatterAdapter formatter, CancellationToken cancellationToken)
    {
        var buffered = Chunk.AsSpan(_chunkStart, _chunkEnd - _chunkStart);
        if (!TryReadHeader(buffered, out var headerLength, out var bodyLength) || headerLength + bodyLength > buffered.Length)
        {
            return ReceiveSpanningAsync(formatter, cancellationToken);
        }

        var bodyStart = _chunkStart + headerLength;
        _chunkStart = bodyStart + bodyLength;
        try
        {
            return new ValueTask<MqttPacket?>(Decode(formatter, buffered[0], new ArraySegment<byte>(Chunk, bodyStart, bodyLength), headerLength + bodyLength));
        }
        catch (Exception e)
        {
            return ValueTask.FromException<MqttPacket?>(e); // a failure is the read's result, as in the asynchronous path
        }
    }

    /// <summary>A packet that ends in a later read (or nothing buffered yet): the header gathered in <see cref="_header"/>, the body in place or in a pooled array.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<MqttPacket?> ReceiveSpanningAsync(MqttPacketFormatterAdapter formatter, CancellationToken cancellationToken)
    {
        int headerLength = 0, bodyLength;
        byte[]? assembled = null;
        try
        {
            while (!TryReadHeader(_header.AsSpan(0, headerLength), out _, out bodyLength))
            {
                if (_chunkEnd == _chunkStart && !await FillAsync(cancellationToken).ConfigureAwait(false))
                {
                    return null;
                }

                // The validator refuses a fifth length byte, so the header never outgrows its five bytes.
                _header[headerLength++] = Chunk[_chunkStart++];
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return null; // reading was stopped while this packet arrived: the link is ending, nothing more is handled
            }

            if (bodyLength <= _chunkEnd - _chunkStart)
            {
                var bodyStart = _chunkStart;
                _chunkStart += bodyLength;
                return Decode(formatter, _header[0], new ArraySegment<byte>(Chunk, bodyStart, bodyLength), headerLength + bodyLength);
            }

            // Up to 1 MB borrowed from the shared pool; a larger body gets an array of its own (the pool would keep it).
            assembled = bodyLength <= LargestPooledBody ? ArrayPool<byte>.Shared.Rent(bodyLength) : GC.AllocateUninitializedArray<byte>(bodyLength);
            var filled = 0;
            while (filled < bodyLength)
            {
                if (_chunkEnd == _chunkStart && !await FillAsync(cancellationToken).ConfigureAwait(false))
                {
                    return null;
                }

                filled += Serve(assembled, filled, bodyLength - filled);
            }

            return cancellationToken.IsCancellationRequested ? null : Decode(formatter, _header[0], new ArraySegment<byte>(assembled, 0, bodyLength), headerLength + bodyLength);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || (e is System.Net.Sockets.SocketException && headerLength < 2))
        {
            // As MQTTnet's adapter: cancelled, closed, or a socket error before a packet's first two bytes is the end of
            // the stream; a socket error after them fails the read (the link is lost, not closed by the broker).
            return null;
        }
        catch (Exception e) when (e is not (MqttCommunicationException or MqttProtocolViolationException))
        {
            throw Wrapped(e);
        }
        finally
        {
            if (assembled is { Length: <= LargestPooledBody })
            {
                ArrayPool<byte>.Shared.Return(assembled);
            }
        }
    }

    /// <summary>
    /// The fixed header at the start of <paramref name="bytes"/>: its length (type byte and Remaining Length) and the
    /// body's; false while the Remaining Length is incomplete. The bytes were validated (at most four length bytes).
    /// </summary>
    private static bool TryReadHeader(ReadOnlySpan<byte> bytes, out int headerLength, out int bodyLength)
    {
        bodyLength = 0;
        for (int i = 1, shift = 0; i < bytes.Length && i <= 4; i++, shift += 7)
        {
            bodyLength |= (bytes[i] & 0x7F) << shift;
            if ((bytes[i] & 0x80) == 0)
            {
                headerLength = i + 1;
                return true;
            }
        }

        headerLength = 0;
        return false;
    }

    /// <summary>Decodes one packet (MQTTnet's formatter); a packet it cannot make sense of ends the link as MQTTnet's adapter ends it.</summary>
    private static MqttPacket Decode(MqttPacketFormatterAdapter formatter, byte fixedHeader, ArraySegment<byte> body, int totalLength)
    {
        try
        {
            return formatter.Decode(new ReceivedMqttPacket(fixedHeader, body, totalLength))
                ?? throw new MqttProtocolViolationException($"The broker sent a packet of type {fixedHeader >> 4} ({totalLength} bytes) that cannot be decoded; the connection is closed and reconnects. If it recurs, check that the broker speaks the MQTT version this connection asked for.");
        }
        catch (Exception e) when (e is not (MqttCommunicationException or MqttProtocolViolationException))
        {
            throw Wrapped(e);
        }
    }

    /// <summary>A failure as MQTTnet's adapter reports it: a socket error, or anything else, inside an <see cref="MqttCommunicationException"/>.</summary>
    private static MqttCommunicationException Wrapped(Exception e) =>
        new(e is IOException { InnerException: System.Net.Sockets.SocketException socket } ? socket : e);

    /// <summary>Reads the next chunk from the socket once everything before it was served; false at the end of the stream.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        // The valid packets that came before a violation in the same chunk have been served: now the violation.
        _violation?.Throw();
        Resize();
        var read = await (_reader?.ReadAsync(Chunk, cancellationToken) ?? new ValueTask<int>(inner.ReadAsync(Chunk, 0, Chunk.Length, cancellationToken))).ConfigureAwait(false);
        if (read == 0)
        {
            return false;
        }

        Accept(read);
        return true;
    }

    /// <summary>MQTTnet's byte reads (<see cref="IMqttChannel"/>); TypedMqtt reads whole packets with <see cref="ReceivePacketAsync"/>.</summary>
    public async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _chunkEnd > _chunkStart || await FillAsync(cancellationToken).ConfigureAwait(false) ? Serve(buffer, offset, count) : 0;

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

    /// <summary>Checks a chunk just read (throws on a violation, so none of it is decoded) and makes it the one to serve.</summary>
    private void Accept(int read)
    {
        _grow = _large is null ? read == SmallChunk : read >= LargeChunk / 8;
        _chunkStart = 0;
        _chunkEnd = 0; // until the validator accepted it, nothing of the new chunk may be served
        try
        {
            validator.Feed(Chunk.AsSpan(0, read));
            _chunkEnd = read;
        }
        catch (MqttProtocolViolation e) when (validator.CurrentPacketStart > 0)
        {
            // Whole, valid packets precede the bad one in this chunk: they are decoded first, then the violation is thrown.
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
