using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Adapter;
using MQTTnet.Formatter;
using MQTTnet.Packets;

namespace TypedMqtt.Shared;

/// <summary>
/// A channel adapter without a socket, on which a real <c>MqttLink</c> runs (through <c>MqttConnection.OpenLinkAsync</c>):
/// subclasses say what a read returns and what a write does. Compiled into the tests and the benchmarks (linked file).
/// </summary>
internal abstract class QuietChannelAdapter : IMqttChannelAdapter
{
    public long BytesReceived => 0;

    public long BytesSent => 0;

    public X509Certificate2 ClientCertificate => null!;

    public EndPoint RemoteEndPoint => null!;

    public EndPoint LocalEndPoint => null!;

    public bool IsSecureConnection => false;

    public MqttPacketFormatterAdapter PacketFormatterAdapter { get; } = new(MqttProtocolVersion.V500, new MqttBufferWriter(4096, 65536));

    public Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task DisconnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public abstract Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken);

    public abstract Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken);

    public void ResetStatistics()
    {
    }

    public abstract void Dispose();
}
