using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Channel;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;

namespace TypedMqtt.Wire;

/// <summary>Builds a link's <see cref="ValidatingAdapter"/>: MQTTnet's codec over a <see cref="ValidatingChannel"/> (one validator per connection).</summary>
internal static class ValidatingAdapterFactory
{
    private const int InitialWriterBuffer = 256;

    /// <param name="clientOptions">MQTTnet's options for the transport and the codec.</param>
    /// <param name="limits">What the inbound validator enforces.</param>
    /// <param name="streamConnector">The application's stream in place of a socket, if any.</param>
    /// <param name="blockingWriteTimeout">Synchronous TCP for a link's own reading thread, with writes failing after this long (ignored for WebSocket, which the options refuse with it); null for asynchronous TCP.</param>
    public static IMqttChannelAdapter Create(MqttClientOptions clientOptions, InboundLimits limits, Func<CancellationToken, ValueTask<Stream>>? streamConnector = null, TimeSpan? blockingWriteTimeout = null)
    {
        IMqttChannel transport = clientOptions.ChannelOptions switch
        {
            MqttClientWebSocketOptions => new WebSocketChannel(clientOptions),
            _ => new TcpChannel(clientOptions, streamConnector, blockingWriteTimeout),
        };
        var channel = new ValidatingChannel(transport, new InboundPacketValidator(limits.Version5, limits.MaximumPacketSize, limits.TopicAliasMaximum));
        // The writer holds a packet's header and properties only (MQTTnet hands the payload over as its own segment), and
        // doubles when one needs more: an idle connection keeps 256 bytes instead of MQTTnet's default 4 KB.
        var formatter = new MqttPacketFormatterAdapter(clientOptions.ProtocolVersion, new MqttBufferWriter(Math.Min(InitialWriterBuffer, clientOptions.WriterBufferSize), clientOptions.WriterBufferSizeMax));
        var writer = new MqttChannelAdapter(channel, formatter, MqttNetNullLogger.Instance)
        {
            AllowPacketFragmentation = clientOptions.AllowPacketFragmentation,
        };
        return new ValidatingAdapter(writer, channel);
    }
}
