using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Adapter;
using MQTTnet.Formatter;
using MQTTnet.Packets;

namespace TypedMqtt.Wire;

/// <summary>
/// A link's packets in and out: out through MQTTnet's channel adapter (its encoder, its send lock, its statistics), in
/// through <see cref="ValidatingChannel.ReceivePacketAsync"/>, which decodes each packet where it lies in the validated
/// read chunk and returns a <see cref="ValueTask{TResult}"/>: no task, no body array, no state machine per packet.
/// </summary>
/// <param name="inner">MQTTnet's adapter over <paramref name="channel"/>.</param>
/// <param name="channel">The channel <paramref name="inner"/> writes to and this adapter reads from.</param>
internal sealed class ValidatingAdapter(MqttChannelAdapter inner, ValidatingChannel channel) : IMqttChannelAdapter
{
    public long BytesReceived => inner.BytesReceived;

    public long BytesSent => inner.BytesSent;

    public X509Certificate2 ClientCertificate => inner.ClientCertificate;

    public EndPoint RemoteEndPoint => inner.RemoteEndPoint;

    public EndPoint LocalEndPoint => inner.LocalEndPoint;

    public bool IsSecureConnection => inner.IsSecureConnection;

    public MqttPacketFormatterAdapter PacketFormatterAdapter => inner.PacketFormatterAdapter;

    /// <summary>The channel packets are read from.</summary>
    public ValidatingChannel Channel => channel;

    /// <summary>
    /// The next packet from <paramref name="adapter"/>, null at the end of the stream: through the channel's own reader
    /// when it is a <see cref="ValidatingAdapter"/>, else through MQTTnet's interface (the test rigs' adapters).
    /// </summary>
    public static ValueTask<MqttPacket?> ReceiveAsync(IMqttChannelAdapter adapter, CancellationToken cancellationToken) =>
        adapter is ValidatingAdapter own
            ? own.ReceivePacketAsync(cancellationToken)
            : new ValueTask<MqttPacket?>(adapter.ReceivePacketAsync(cancellationToken)!);

    /// <summary>The next packet; null at the end of the stream or when <paramref name="cancellationToken"/> ends reading.</summary>
    public ValueTask<MqttPacket?> ReceivePacketAsync(CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? default : channel.ReceivePacketAsync(inner.PacketFormatterAdapter, cancellationToken);

    Task<MqttPacket> IMqttChannelAdapter.ReceivePacketAsync(CancellationToken cancellationToken) => ReceivePacketAsync(cancellationToken).AsTask()!;

    public Task ConnectAsync(CancellationToken cancellationToken) => inner.ConnectAsync(cancellationToken);

    public Task DisconnectAsync(CancellationToken cancellationToken) => inner.DisconnectAsync(cancellationToken);

    public Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken) => inner.SendPacketAsync(packet, cancellationToken);

    public void ResetStatistics() => inner.ResetStatistics();

    public void Dispose() => inner.Dispose();
}
