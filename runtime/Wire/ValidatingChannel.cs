using System.Buffers;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Channel;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Implementations;

namespace TypedMqtt.Wire;

/// <summary>
/// MQTTnet's own TCP or WebSocket channel, with every inbound byte checked by an <see cref="InboundPacketValidator"/> and
/// outbound packets coalesced into fewer writes by a <see cref="CoalescingWriter"/>.
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

        await inner.DisconnectAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        // Most reads complete at once from buffered data: check them without an extra async state machine.
        var reading = inner.ReadAsync(buffer, offset, count, cancellationToken);
        if (reading.IsCompletedSuccessfully)
        {
            validator.Feed(buffer.AsSpan(offset, reading.Result));
            return reading;
        }

        return ValidateWhenReadAsync(reading, buffer, offset);
    }

    private async Task<int> ValidateWhenReadAsync(Task<int> reading, byte[] buffer, int offset)
    {
        var read = await reading.ConfigureAwait(false);
        validator.Feed(buffer.AsSpan(offset, read));
        return read;
    }

    private readonly CoalescingWriter _writer = new(inner);

    public Task WriteAsync(ReadOnlySequence<byte> buffer, bool isEndOfPacket, CancellationToken cancellationToken) =>
        _writer.WriteAsync(buffer, isEndOfPacket);

    public void Dispose()
    {
        _writer.Dispose();
        inner.Dispose();
    }
}

/// <summary>Builds MQTTnet's channel adapter around a <see cref="ValidatingChannel"/> (one validator per connection).</summary>
internal sealed class ValidatingAdapterFactory(MqttConnectionOptions options) : IMqttClientAdapterFactory
{
    /// <summary>Largest packet accepted when the application set no maximum packet size: generous, but a hostile length is refused before anything is allocated.</summary>
    public const long DefaultInboundPacketLimit = 16 * 1024 * 1024;

    public IMqttChannelAdapter CreateClientAdapter(MqttClientOptions clientOptions, MqttPacketInspector packetInspector, IMqttNetLogger logger)
    {
        ArgumentNullException.ThrowIfNull(clientOptions);
        IMqttChannel channel = clientOptions.ChannelOptions switch
        {
            MqttClientWebSocketOptions webSocket => new MqttWebSocketChannel(webSocket),
            _ => new MqttTcpChannel(clientOptions),
        };
        var limit = options.MaximumPacketSize ?? Math.Max(DefaultInboundPacketLimit, options.MaxInboundPayloadBytes + 70_000);
        var validator = new InboundPacketValidator(options.ProtocolVersion == MqttVersion.V500, limit, options.TopicAliasMaximum ?? 0);
        var formatter = new MqttPacketFormatterAdapter(clientOptions.ProtocolVersion, new MqttBufferWriter(clientOptions.WriterBufferSize, clientOptions.WriterBufferSizeMax));
        return new MqttChannelAdapter(new ValidatingChannel(channel, validator), formatter, logger)
        {
            AllowPacketFragmentation = clientOptions.AllowPacketFragmentation,
            PacketInspector = packetInspector,
        };
    }
}
