using System.Buffers;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Adapter;
using MQTTnet.Formatter;
using MQTTnet;
using MQTTnet.Diagnostics.PacketInspection;
using MQTTnet.Packets;

namespace TypedMqtt.Benchmarks;

/// <summary>
/// An IMqttClient that sends nothing: publish and subscribe succeed at once (or, for publish, when the benchmark says
/// the acknowledgement arrived). It lets the micro-benchmarks run the real generated client and the real
/// <see cref="MqttConnection"/> publish/receive code with MQTTnet's socket work taken out, typed and hand-written alike.
/// </summary>
internal sealed class FakeMqttClient : IMqttClient
{
    private static readonly Task<MqttClientPublishResult> Success = Task.FromResult(new MqttClientPublishResult(null, MqttClientPublishReasonCode.Success, string.Empty, []));
    private TaskCompletionSource<MqttClientPublishResult>? _pending;

    /// <summary>When true, PublishAsync returns a task that completes only at <see cref="Acknowledge"/>, as a QoS 1 publish waits for PUBACK.</summary>
    public bool DeferAcknowledgement { get; set; }

    public event Func<MqttApplicationMessageReceivedEventArgs, Task>? ApplicationMessageReceivedAsync;

    public event Func<MqttClientConnectedEventArgs, Task>? ConnectedAsync;

    public event Func<MqttClientConnectingEventArgs, Task>? ConnectingAsync;

    public event Func<MqttClientDisconnectedEventArgs, Task>? DisconnectedAsync;

    public event Func<InspectMqttPacketEventArgs, Task>? InspectPacketAsync;

    public bool IsConnected => true;

    public MqttClientOptions Options { get; } = new();

    public Task<MqttClientPublishResult> PublishAsync(MqttApplicationMessage applicationMessage, CancellationToken cancellationToken = default)
    {
        if (!DeferAcknowledgement)
        {
            return Success;
        }

        // Continuations run inline on Acknowledge, so the whole async chain finishes on the benchmark's thread.
        _pending = new TaskCompletionSource<MqttClientPublishResult>();
        return _pending.Task;
    }

    public void Acknowledge() => _pending?.SetResult(Success.Result);

    public Task<MqttClientSubscribeResult> SubscribeAsync(MqttClientSubscribeOptions options, CancellationToken cancellationToken = default) =>
        Task.FromResult(new MqttClientSubscribeResult(1, [.. options.TopicFilters.Select(f => new MqttClientSubscribeResultItem(f, MqttClientSubscribeResultCode.GrantedQoS1))], string.Empty, []));

    public Task<MqttClientUnsubscribeResult> UnsubscribeAsync(MqttClientUnsubscribeOptions options, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<MqttClientConnectResult> ConnectAsync(MqttClientOptions options, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task DisconnectAsync(MqttClientDisconnectOptions options, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task PingAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task SendEnhancedAuthenticationExchangeDataAsync(MqttEnhancedAuthenticationExchangeData data, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public void Dispose()
    {
    }

    /// <summary>Keeps the compiler quiet about events nobody raises.</summary>
    internal bool HasHandlers => ApplicationMessageReceivedAsync is not null || ConnectedAsync is not null || ConnectingAsync is not null || DisconnectedAsync is not null || InspectPacketAsync is not null;
}

/// <summary>
/// A channel adapter that sends nothing and receives only the SUBACK for each SUBSCRIBE (its reads otherwise wait until
/// it is disposed): the typed connection's link runs on it, so the micro-benchmarks measure TypedMqtt's own publish and
/// receive code without sockets. It remembers the packet identifier of the last PUBLISH written, so a benchmark can
/// acknowledge it.
/// </summary>
internal sealed class SilentChannelAdapter : Shared.QuietChannelAdapter
{
    private readonly System.Threading.Channels.Channel<MqttPacket> _answers = System.Threading.Channels.Channel.CreateUnbounded<MqttPacket>();

    public ushort LastPacketId { get; private set; }

    public override async Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken) =>
        await _answers.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false) && _answers.Reader.TryRead(out var packet) ? packet : null!;

    public override Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken)
    {
        if (packet is MqttPublishPacket publish)
        {
            LastPacketId = publish.PacketIdentifier;
        }
        else if (packet is MqttSubscribePacket subscribe)
        {
            _answers.Writer.TryWrite(new MqttSubAckPacket { PacketIdentifier = subscribe.PacketIdentifier, ReasonCodes = [MQTTnet.Protocol.MqttSubscribeReasonCode.GrantedQoS1] });
        }

        return Task.CompletedTask;
    }

    public override void Dispose() => _answers.Writer.TryComplete();
}

/// <summary>
/// A real <see cref="MqttConnection"/> (built through its internal constructor) whose live link runs on a
/// <see cref="SilentChannelAdapter"/>; every benchmarked call goes through the connection's own code. The hand-written
/// baseline publishes through a <see cref="FakeMqttClient"/>.
/// </summary>
internal sealed class ConnectionRig
{
    public ConnectionRig()
    {
        var options = new MqttConnectionOptionsBuilder().WithAddress("mqtt://127.0.0.1:1883").WithClientId("bench-rig").WithKeepAlive(TimeSpan.Zero).Build();
        Connection = new MqttConnection(options);
        Link = Connection.OpenLinkAsync(Adapter, new MqttConnectResult()).GetAwaiter().GetResult();
    }

    /// <summary>The hand-written baseline's MQTTnet client.</summary>
    public FakeMqttClient Client { get; } = new();

    public SilentChannelAdapter Adapter { get; } = new();

    public MqttConnection Connection { get; }

    internal Link.MqttLink Link { get; }

    public Dispatch.SubscriptionRegistry Registry => Connection.Router.Registry;

    /// <summary>The connection's receive entry point (what its link calls for every PUBLISH).</summary>
    public ValueTask OnMessageReceived(MqttPublishPacket packet) => Connection.Router.RouteAsync(packet);

    /// <summary>Acknowledges the typed connection's last QoS 1 publish, as a PUBACK read from the broker would.</summary>
    public void AcknowledgeTyped() => Connection.Delivery.OnAcknowledgement(Link, new MqttPubAckPacket { PacketIdentifier = Adapter.LastPacketId })?.CompleteHere();

    /// <summary>The connection's receive-side context builder.</summary>
    public static MqttMessageContext CreateContext(MqttPublishPacket packet) => Dispatch.InboundRouter.CreateContext(packet);

    /// <summary>A received PUBLISH as it comes from a TypedMqtt publisher (content type, payload format).</summary>
    public static MqttPublishPacket Received(string topic, byte[] payload) => new()
    {
        Topic = topic,
        Payload = new ReadOnlySequence<byte>(payload),
        ContentType = "application/json",
        PayloadFormatIndicator = MQTTnet.Protocol.MqttPayloadFormatIndicator.CharacterData,
    };

    /// <summary>The same message as MQTTnet's client hands it to a hand-written handler.</summary>
    public static MqttApplicationMessage ReceivedByMqttnet(string topic, byte[] payload) => MqttApplicationMessageFactory.Create(Received(topic, payload));
}
