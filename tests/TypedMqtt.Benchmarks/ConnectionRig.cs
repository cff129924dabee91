using System.Buffers;
using System.Reflection;
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
/// A real <see cref="MqttConnection"/> (built by its private constructor) whose live link is a <see cref="FakeMqttClient"/>.
/// Reflection only wires it up; every benchmarked call goes through the connection's own code.
/// </summary>
internal sealed class ConnectionRig
{
    private const BindingFlags Instance = BindingFlags.Instance | BindingFlags.NonPublic;
    private const BindingFlags Static = BindingFlags.Static | BindingFlags.NonPublic;

    public ConnectionRig()
    {
        var options = new MqttConnectionOptionsBuilder().WithAddress("mqtt://127.0.0.1:1883").WithClientId("bench-rig").Build();
        Connection = (MqttConnection)typeof(MqttConnection).GetConstructor(Instance, [typeof(MqttConnectionOptions)])!.Invoke([options]);
        var linkType = typeof(MqttConnection).GetNestedType("Link", BindingFlags.NonPublic)!;
        var link = Activator.CreateInstance(linkType, Instance | BindingFlags.Public, null, [Client, (int)ushort.MaxValue, 1], null)!;
        typeof(MqttConnection).GetField("_link", Instance)!.SetValue(Connection, link);
        OnMessageReceived = typeof(MqttConnection).GetMethod("OnMessageReceivedAsync", Instance)!.CreateDelegate<Func<MqttApplicationMessageReceivedEventArgs, Task>>(Connection);
        Registry = (Dispatch.SubscriptionRegistry)typeof(MqttConnection).GetField("_subscriptions", Instance)!.GetValue(Connection)!;
    }

    public FakeMqttClient Client { get; } = new();

    public MqttConnection Connection { get; }

    /// <summary>The connection's receive entry point (what MQTTnet calls for every PUBLISH).</summary>
    public Func<MqttApplicationMessageReceivedEventArgs, Task> OnMessageReceived { get; }

    public Dispatch.SubscriptionRegistry Registry { get; }

    /// <summary>The connection's private receive-side context builder.</summary>
    public static Func<MqttApplicationMessage, MqttMessageContext> CreateContext { get; } =
        typeof(MqttConnection).GetMethod("CreateContext", Static)!.CreateDelegate<Func<MqttApplicationMessage, MqttMessageContext>>();

    /// <summary>A received message as MQTTnet hands it over from a TypedMqtt publisher (content type, payload format).</summary>
    public static MqttApplicationMessageReceivedEventArgs Received(string topic, byte[] payload)
    {
        var message = new MqttApplicationMessage
        {
            Topic = topic,
            Payload = new ReadOnlySequence<byte>(payload),
            ContentType = "application/json",
            PayloadFormatIndicator = MQTTnet.Protocol.MqttPayloadFormatIndicator.CharacterData,
        };
        return new MqttApplicationMessageReceivedEventArgs("bench-rig", message, new MqttPublishPacket(), null);
    }
}
