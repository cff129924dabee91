using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Channel;

namespace TypedMqtt.Wire;

/// <summary>
/// The TCP transport, with TLS when the options ask for it: a socket and, over it, an <see cref="SslStream"/>. It
/// replaces MQTTnet's <c>MqttTcpChannel</c> so that <see cref="ValidatingChannel"/> can read it as a ValueTask: an
/// asynchronous socket read then allocates one state machine (the validator's) instead of two, and writes complete without
/// allocating when the socket takes them at once. Socket settings (no-delay, linger, address family, dual mode, local
/// end point) and the TLS settings that <c>MqttConnection</c> configures (target host, protocols, client certificate,
/// server certificate validation) are taken from MQTTnet's options, so both transports behave alike. Two differences on
/// purpose: the socket buffers keep the operating system's sizes (Linux tunes them to the traffic) instead of MQTTnet's
/// fixed 8 KB, which measured 4-10 us of CPU per QoS 0 message against 13-26 us, and no more stalls of a second; and
/// after a DISCONNECT the close sends what is buffered, then FIN (<see cref="CloseGracefully"/>), where MQTTnet's zero
/// linger always resets. With a stream connector (<see cref="MqttConnectionOptions.StreamConnector"/>) the application's
/// stream takes the socket's place, and TLS, reads, writes and close are the same.
/// </summary>
/// <remarks>
/// With <paramref name="blockingWriteTimeout"/> (<see cref="MqttConnectionOptions.DedicatedReadingThread"/>) every operation is
/// synchronous: connect, TLS handshake, reads and writes. A socket that has never been used asynchronously stays a
/// blocking socket outside .NET's socket engine, so a read blocks in the kernel and the kernel wakes the reading thread
/// itself; once used asynchronously, .NET makes it non-blocking and registers it with its engine, whose thread then wakes
/// for every packet that arrives as well (measured: no gain over the thread pool). A write blocks only while the
/// kernel's send buffer is full, and for at most <c>blockingWriteTimeout</c> (the link's acknowledgement deadline): a
/// peer that stops reading then fails the write and the link, as the watchdog ends an asynchronous link. A read or a
/// handshake step given a token that can be cancelled (the connect's timeout) closes the stream when it is cancelled.
/// </remarks>
internal sealed class TcpChannel(MqttClientOptions clientOptions, Func<CancellationToken, ValueTask<Stream>>? streamConnector = null, TimeSpan? blockingWriteTimeout = null) : IMqttChannel, IValueTaskChannel
{
    private readonly MqttClientTcpOptions _tcp = (MqttClientTcpOptions)clientOptions.ChannelOptions;
    private readonly bool _blocking = blockingWriteTimeout is not null;
    private Stream? _stream;
    private Socket? _socket;
    private TrailingAck? _trailingAck;
    private bool _disposed;

    /// <summary>The connected stream (TLS or plain); null before connecting and after disposal.</summary>
    private Stream? Stream => Volatile.Read(ref _stream);

    public X509Certificate2 ClientCertificate => null!;

    public EndPoint RemoteEndPoint { get; private set; } = null!;

    public EndPoint LocalEndPoint { get; private set; } = null!;

    public bool IsSecureConnection => _tcp.TlsOptions?.UseTls == true;

    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        if (streamConnector is not null)
        {
            await ConnectStreamAsync(streamConnector, cancellationToken).ConfigureAwait(false);
            return;
        }

        var socket = _tcp.AddressFamily == AddressFamily.Unspecified
            ? new Socket(SocketType.Stream, _tcp.ProtocolType)
            : new Socket(_tcp.AddressFamily, SocketType.Stream, _tcp.ProtocolType);
        Stream? stream = null;
        try
        {
            if (_tcp.ProtocolType == ProtocolType.Tcp)
            {
                socket.NoDelay = _tcp.NoDelay;
            }

            // Closing resets the connection (MQTTnet's default linger of on, 0 s) unless CloseGracefully is called first:
            // a link given up for dead is dropped as MQTTnet drops it, and the broker does not go on reading packets
            // that are resent on the next link anyway.
            if (_tcp.LingerState is { } linger)
            {
                socket.LingerState = linger;
            }

            if (_tcp.DualMode is { } dualMode)
            {
                socket.DualMode = dualMode;
            }

            if (_tcp.LocalEndpoint is { } local)
            {
                socket.Bind(local);
            }

            if (_blocking)
            {
                await ConnectBlockingAsync(socket, _tcp.RemoteEndpoint, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await socket.ConnectAsync(_tcp.RemoteEndpoint, cancellationToken).ConfigureAwait(false);
            }

            RemoteEndPoint = socket.RemoteEndPoint!;
            LocalEndPoint = socket.LocalEndPoint!;
            stream = new NetworkStream(socket, ownsSocket: true);
            _socket = socket;
            _trailingAck = TrailingAck.For(socket);
            stream = await SecureAsync(stream, cancellationToken).ConfigureAwait(false);
            Publish(stream);
        }
        catch
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A synchronous connect that the token aborts (by closing the socket); a host name is resolved asynchronously first,
    /// since closing the socket cannot interrupt a synchronous lookup.
    /// </summary>
    private static async Task ConnectBlockingAsync(Socket socket, EndPoint remote, CancellationToken cancellationToken)
    {
        IPAddress[]? addresses = null;
        if (remote is DnsEndPoint named)
        {
            addresses = IPAddress.TryParse(named.Host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(named.Host, cancellationToken).ConfigureAwait(false);
        }

        Abortable(socket, cancellationToken, (socket, remote, addresses), static step =>
        {
            if (step.addresses is { } resolved)
            {
                step.socket.Connect(resolved, ((DnsEndPoint)step.remote).Port);
            }
            else
            {
                step.socket.Connect(step.remote);
            }

            return 0;
        });
    }

    /// <summary>
    /// Runs a synchronous step that only closing <paramref name="target"/> can interrupt: when the token is cancelled the
    /// target is closed, and the step's failure is reported as the cancellation (as the asynchronous step reports it).
    /// </summary>
    private static T Abortable<T, TState>(IDisposable target, CancellationToken cancellationToken, TState state, Func<TState, T> step)
    {
        using var abort = cancellationToken.CanBeCanceled ? cancellationToken.UnsafeRegister(static t => ((IDisposable)t!).Dispose(), target) : default;
        try
        {
            return step(state);
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is IOException or ObjectDisposedException or SocketException)
        {
            throw new OperationCanceledException("Cancelled: " + e.Message, e, cancellationToken);
        }
    }

    /// <summary>Connects through the application's stream connector instead of a socket (in-memory pipes, tunnels).</summary>
    private async Task ConnectStreamAsync(Func<CancellationToken, ValueTask<Stream>> connector, CancellationToken cancellationToken)
    {
        RemoteEndPoint = _tcp.RemoteEndpoint;
        LocalEndPoint = new DnsEndPoint("localhost", 0);
        var stream = await connector(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("The stream connector returned null; it must return an open, readable and writable stream.");
        try
        {
            stream = await SecureAsync(stream, cancellationToken).ConfigureAwait(false);
            Publish(stream);
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Runs the TLS handshake over <paramref name="stream"/> when the options ask for TLS.</summary>
    private async Task<Stream> SecureAsync(Stream stream, CancellationToken cancellationToken)
    {
        if (_tcp.TlsOptions is not { UseTls: true } tls)
        {
            return stream;
        }

        var secure = new SslStream(stream, leaveInnerStreamOpen: false);
        try
        {
            if (_blocking)
            {
                Abortable(secure, cancellationToken, (secure, options: Authentication(tls)), static step =>
                {
                    step.secure.AuthenticateAsClient(step.options);
                    return 0;
                });
                cancellationToken.ThrowIfCancellationRequested();
            }
            else
            {
                await secure.AuthenticateAsClientAsync(Authentication(tls), cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await secure.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return secure;
    }

    /// <summary>Makes the connected stream the channel's.</summary>
    private void Publish(Stream stream)
    {
        if (blockingWriteTimeout is { } bound && stream.CanTimeout)
        {
            stream.WriteTimeout = (int)Math.Min(bound.TotalMilliseconds, int.MaxValue);
        }

        // A full fence before reading _disposed (Dispose writes it, then takes the stream): one of the two disposes it.
        Interlocked.Exchange(ref _stream, stream);
        if (Volatile.Read(ref _disposed))
        {
            Dispose(); // disposed while connecting: the stream published just now must not outlive the channel
        }
    }

    /// <summary>MQTTnet's TLS options (as MqttConnection sets them) as .NET's.</summary>
    private SslClientAuthenticationOptions Authentication(MqttClientTlsOptions tls)
    {
        var certificates = tls.ClientCertificatesProvider?.GetCertificates();
        var validate = tls.CertificateValidationHandler;
        return new SslClientAuthenticationOptions
        {
            TargetHost = string.IsNullOrEmpty(tls.TargetHost) ? (_tcp.RemoteEndpoint as DnsEndPoint)?.Host : tls.TargetHost,
            EnabledSslProtocols = tls.SslProtocol,
            CertificateRevocationCheckMode = tls.RevocationMode,
            ClientCertificates = certificates,

            // The configured certificate is offered whatever CAs the server lists: a refusal is then the server's, and
            // MqttConnection reports it as such.
            LocalCertificateSelectionCallback = certificates is { Count: > 0 } ? (_, _, _, _, _) => certificates[0] : null,
            RemoteCertificateValidationCallback = validate is null
                ? null
                : (_, certificate, chain, errors) => validate(new MqttClientCertificateValidationEventArgs(certificate, chain, errors, _tcp)),
        };
    }

    /// <summary>
    /// Makes the close send everything still buffered, then FIN, instead of a reset, which would discard what the kernel
    /// has not sent yet: after a DISCONNECT that is the tail of a burst and the DISCONNECT itself (and without it the
    /// broker publishes the will). Test: 2,000 x 1 KB QoS 0 publishes then DisposeAsync delivered 127 with a reset.
    /// </summary>
    public void CloseGracefully()
    {
        try
        {
            Volatile.Read(ref _socket)?.LingerState = new LingerOption(enable: false, seconds: 0);
        }
        catch (ObjectDisposedException)
        {
            // Already closed.
        }
    }

    public Task DisconnectAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>
    /// Reads what the socket has, as a ValueTask (what <see cref="ValidatingChannel"/> calls: no task when the read
    /// waits). Failures are reported as MQTTnet's TCP channel reports them: a stream closed under the read is the end of
    /// the stream (0), and a socket error is the <see cref="SocketException"/> itself.
    /// </summary>
    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (Stream is not { } stream)
        {
            return new ValueTask<int>(0);
        }

        if (_blocking)
        {
            return ReadBlocking(stream, buffer, cancellationToken);
        }

        ValueTask<int> reading;
        try
        {
            reading = stream.ReadAsync(buffer, cancellationToken);
        }
        catch (ObjectDisposedException)
        {
            return new ValueTask<int>(0);
        }

        if (!reading.IsCompletedSuccessfully)
        {
            return CompleteReadAsync(reading, _trailingAck);
        }

        var read = reading.GetAwaiter().GetResult(); // consumed here: the stream reuses what backs the ValueTask
        Arrived(read);
        return new ValueTask<int>(read);
    }

    /// <summary>A read returned: bytes owe the peer an ACK (<see cref="TrailingAck"/>).</summary>
    private void Arrived(int read)
    {
        if (read > 0)
        {
            _trailingAck?.Read();
        }
    }

    /// <summary>Whether every operation blocks the calling thread (see the remarks): the link then reads on a thread of its own.</summary>
    public bool Blocking => _blocking;

    /// <summary>
    /// A read that blocks this thread until bytes arrive; failures as <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>
    /// reports them. A token that can be cancelled (the connect's, while CONNACK is awaited) closes the stream when it is,
    /// and the read then ends as cancelled; the link's own reading thread passes none (a close ends its read).
    /// </summary>
    private ValueTask<int> ReadBlocking(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            var read = Abortable(this, cancellationToken, (stream, buffer), static step => step.stream.Read(step.buffer.Span));
            Arrived(read);
            return new ValueTask<int>(read);
        }
        catch (OperationCanceledException e)
        {
            return ValueTask.FromCanceled<int>(e.CancellationToken);
        }
        catch (ObjectDisposedException)
        {
            return new ValueTask<int>(0);
        }
        catch (IOException e) when (e.InnerException is SocketException socketError)
        {
            return ValueTask.FromException<int>(socketError);
        }
    }

    // Pooled: a read that waits costs no allocation of its own here.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> CompleteReadAsync(ValueTask<int> reading, TrailingAck? trailingAck)
    {
        try
        {
            var read = await reading.ConfigureAwait(false);
            if (read > 0)
            {
                trailingAck?.Read();
            }

            return read;
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
        catch (IOException e) when (e.InnerException is SocketException socketError)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(socketError);
            throw;
        }
    }

    public Task WriteAsync(ReadOnlySequence<byte> buffer, bool isEndOfPacket, CancellationToken cancellationToken)
    {
        var stream = Stream ?? throw new ObjectDisposedException(nameof(TcpChannel), "The connection is closed.");
        _trailingAck?.Wrote();
        if (_blocking)
        {
            return WriteBlocking(stream, buffer);
        }

        if (!buffer.IsSingleSegment)
        {
            return WriteSegmentsAsync(stream, buffer, cancellationToken);
        }

        var write = stream.WriteAsync(buffer.First, cancellationToken);
        if (!write.IsCompletedSuccessfully)
        {
            return write.AsTask();
        }

        write.GetAwaiter().GetResult(); // consumed, so the stream can reuse what backs the ValueTask
        return Task.CompletedTask;
    }

    private static Task WriteBlocking(Stream stream, ReadOnlySequence<byte> buffer)
    {
        try
        {
            foreach (var segment in buffer)
            {
                stream.Write(segment.Span);
            }

            return Task.CompletedTask;
        }
#pragma warning disable CA1031 // The failure is the write's result, as an asynchronous write reports it.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return Task.FromException(e);
        }
    }

    private static async Task WriteSegmentsAsync(Stream stream, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
    {
        foreach (var segment in buffer)
        {
            await stream.WriteAsync(segment, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        // Closing the stream closes the socket (the NetworkStream owns it).
        Volatile.Write(ref _disposed, true);
        _trailingAck?.End();
        Interlocked.Exchange(ref _stream, null)?.Dispose();
    }
}
