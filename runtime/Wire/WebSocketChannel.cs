using System.Buffers;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Channel;

namespace TypedMqtt.Wire;

/// <summary>
/// The WebSocket transport (<c>ws://</c>, and <c>wss://</c> with TLS), read as <see cref="TcpChannel"/> is: as a
/// ValueTask, so <see cref="ValidatingChannel"/> pays one state machine per read, not MQTTnet's two. It replaces MQTTnet's
/// WebSocket channel, and keeps to MQTT's WebSocket rules (MQTT 5 §6): it offers the <c>mqtt</c> subprotocol
/// (MQTT-6.0.0-3), writes every packet in binary frames, treats the frames of the broker as one byte stream whatever their
/// boundaries (MQTT-6.0.0-2), and ends the connection on a text frame (MQTT-6.0.0-1). TLS (the CA or validation callback
/// and the client certificate) comes from the same options as for TCP.
/// </summary>
internal sealed class WebSocketChannel(MqttClientOptions clientOptions) : IMqttChannel, IValueTaskChannel
{
    /// <summary>The WebSocket subprotocol MQTT registers (MQTT 5 §6, MQTT 3.1.1 §6).</summary>
    public const string SubProtocol = "mqtt";

    private readonly MqttClientWebSocketOptions _options = (MqttClientWebSocketOptions)clientOptions.ChannelOptions;
    private ClientWebSocket? _socket;

    public X509Certificate2 ClientCertificate => null!;

    public EndPoint RemoteEndPoint { get; private set; } = null!;

    public EndPoint LocalEndPoint { get; private set; } = new DnsEndPoint("localhost", 0);

    public bool IsSecureConnection => _options.TlsOptions?.UseTls == true;

    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        var uri = new Uri(_options.Uri);
        RemoteEndPoint = new DnsEndPoint(uri.Host, uri.Port);
        var socket = new ClientWebSocket();
        try
        {
            socket.Options.AddSubProtocol(SubProtocol);
            if (_options.TlsOptions is { UseTls: true } tls)
            {
                if (tls.ClientCertificatesProvider?.GetCertificates() is { Count: > 0 } certificates)
                {
                    socket.Options.ClientCertificates = certificates;
                }

                if (tls.CertificateValidationHandler is { } validate)
                {
                    socket.Options.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                        validate(new MqttClientCertificateValidationEventArgs(certificate, chain, errors, _options));
                }
            }

            await socket.ConnectAsync(uri, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        if (Interlocked.CompareExchange(ref _socket, socket, null) is not null)
        {
            socket.Dispose(); // disposed while connecting
        }
    }

    public Task DisconnectAsync(CancellationToken cancellationToken) => CloseAsync(cancellationToken);

    /// <summary>Sends the closing handshake (after a DISCONNECT, so the broker reads it all), then drops the socket.</summary>
    private async Task CloseAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _socket, null) is not { } socket)
        {
            return;
        }

        try
        {
            if (socket.State == WebSocketState.Open)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The connection is already gone.
        }
        finally
        {
            socket.Dispose();
        }
    }

    public Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>
    /// Reads the payload of the broker's binary frames as one stream: 0 at the end (a close frame, or the connection
    /// gone), and a <see cref="MqttProtocolViolation"/> for a text frame.
    /// </summary>
    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _socket) is not { } socket)
        {
            return new ValueTask<int>(0);
        }

        ValueTask<ValueWebSocketReceiveResult> receiving;
        try
        {
            receiving = socket.ReceiveAsync(buffer, cancellationToken);
        }
        catch (ObjectDisposedException)
        {
            return new ValueTask<int>(0);
        }

        if (receiving.IsCompletedSuccessfully && receiving.Result is { MessageType: WebSocketMessageType.Binary, Count: > 0 } result)
        {
            return new ValueTask<int>(result.Count);
        }

        return CompleteReadAsync(socket, receiving, buffer, cancellationToken);
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> CompleteReadAsync(ClientWebSocket socket, ValueTask<ValueWebSocketReceiveResult> receiving, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var result = await receiving.ConfigureAwait(false);
                switch (result.MessageType)
                {
                    case WebSocketMessageType.Close:
                        return 0;
                    case WebSocketMessageType.Text:
                        throw new MqttProtocolViolation(0x81, "the broker sent a WebSocket text frame; MQTT packets travel in binary frames only (MQTT-6.0.0-1), so this is not an MQTT WebSocket endpoint");
                }

                if (result.Count > 0)
                {
                    return result.Count;
                }

                receiving = socket.ReceiveAsync(buffer, cancellationToken); // an empty binary frame: read on
            }
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
        catch (WebSocketException e) when (e.WebSocketErrorCode == WebSocketError.ConnectionClosedPrematurely)
        {
            return 0;
        }
    }

    public Task WriteAsync(ReadOnlySequence<byte> buffer, bool isEndOfPacket, CancellationToken cancellationToken)
    {
        var socket = Volatile.Read(ref _socket) ?? throw new ObjectDisposedException(nameof(WebSocketChannel), "The connection is closed.");
        if (!buffer.IsSingleSegment)
        {
            return WriteSegmentsAsync(socket, buffer, cancellationToken);
        }

        var write = socket.SendAsync(buffer.First, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
        if (!write.IsCompletedSuccessfully)
        {
            return write.AsTask();
        }

        write.GetAwaiter().GetResult();
        return Task.CompletedTask;
    }

    private static async Task WriteSegmentsAsync(ClientWebSocket socket, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
    {
        // One binary message per segment: the broker reads the frames as one stream (MQTT-6.0.0-2).
        foreach (var segment in buffer)
        {
            await socket.SendAsync(segment, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Dispose() => Interlocked.Exchange(ref _socket, null)?.Dispose();
}

/// <summary>A channel <see cref="ValidatingChannel"/> reads as a ValueTask (no task when a read waits).</summary>
internal interface IValueTaskChannel
{
    ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken);
}
