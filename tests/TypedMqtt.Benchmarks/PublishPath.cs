using System.Globalization;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using MQTTnet;
using MQTTnet.Protocol;
using TypedMqtt.Delivery;

namespace TypedMqtt.Benchmarks;

/// <summary>
/// Publish path, typed vs hand-written, up to MQTTnet's PublishAsync. The *_Call benchmarks go through the real
/// generated client and the real MqttConnection (PublishCoreAsync, DeliverAsync, SendAsync) with a FakeMqttClient as the link; the
/// hand-written side calls the same fake. The piece benchmarks call what the generated code calls, one step at a time.
/// </summary>
[MemoryDiagnoser]
public class PublishPath
{
    // A field, not a constant: the compiler would fold a constant into the hand-written interpolated topic.
    private readonly string _device = "dev-0001";
    private static readonly JsonPayloadCodec<Reading> Codec = new(BenchJson.Default.Reading, allowNull: false);
    private ConnectionRig _rig = null!;
    private BenchQos0Client _qos0 = null!;
    private BenchQos1Client _qos1 = null!;
    private readonly Reading _reading = Reading.Sample;
    private readonly byte[] _payload = JsonSerializer.SerializeToUtf8Bytes(Reading.Sample, BenchJson.Default.Reading);

    [GlobalSetup]
    public void Setup()
    {
        _rig = new ConnectionRig();
        _qos0 = new BenchQos0Client(_rig.Connection);
        _qos1 = new BenchQos1Client(_rig.Connection);
    }

    [Benchmark(Description = "raw QoS 0 call")]
    public Task Raw_Qos0_Call()
    {
        _rig.Client.DeferAcknowledgement = false;
        return EndToEnd.HandWrittenPublishAsync(_rig.Client, _device, _reading, MqttQualityOfServiceLevel.AtMostOnce);
    }

    [Benchmark(Description = "typed QoS 0 call")]
    public Task Typed_Qos0_Call()
    {
        return _qos0.PublishAsync(_device, _reading);
    }

    /// <summary>
    /// The same call with telemetry listening (an ActivityListener recording every TypedMqtt span and a MeterListener on
    /// every TypedMqtt instrument): what tracing costs when it is on. Without listeners the call above pays one flag check.
    /// </summary>
    [Benchmark(Description = "typed QoS 0 call, telemetry listening (span + trace context + metrics)")]
    public Task Typed_Qos0_Call_Traced()
    {
        return _qos0.PublishAsync(_device, _reading);
    }

    [GlobalSetup(Target = nameof(Typed_Qos0_Call_Traced))]
    public void SetupTraced()
    {
        Setup();
        _telemetry = new TelemetryListeners();
    }

    [GlobalCleanup(Target = nameof(Typed_Qos0_Call_Traced))]
    public void CleanupTraced() => _telemetry?.Dispose();

    private TelemetryListeners? _telemetry;

    [Benchmark(Description = "raw QoS 1 call (ack later)")]
    public Task Raw_Qos1_Call()
    {
        _rig.Client.DeferAcknowledgement = true;
        var task = EndToEnd.HandWrittenPublishAsync(_rig.Client, _device, _reading, MqttQualityOfServiceLevel.AtLeastOnce);
        _rig.Client.Acknowledge();
        return task;
    }

    [Benchmark(Description = "typed QoS 1 call (ack later)")]
    public Task Typed_Qos1_Call()
    {
        var task = _qos1.PublishAsync(_device, _reading);
        _rig.AcknowledgeTyped();
        return task;
    }

    [Benchmark(Description = "raw topic")]
    public string Raw_Topic() => $"bench/{_device}/reading";

    /// <summary>As generated: formatted on the stack with the level check, the previous string reused when equal, then PublishAsync's topic-name check.</summary>
    [Benchmark(Description = "typed topic (format + level check + reuse + name check)")]
    public string Typed_Topic()
    {
        Span<char> text = stackalloc char[256];
        var topic = MemoryExtensions.TryWrite(text, CultureInfo.InvariantCulture, $"bench/{MqttTopic.Level(_device, "device")}/reading", out var length)
            ? MqttTopic.Reuse(ref _lastTopic, text[..length])
            : string.Create(CultureInfo.InvariantCulture, $"bench/{MqttTopic.Level(_device, "device")}/reading");
        return Topics.TopicRules.CheckTopicName(topic) ?? topic;
    }

    private string? _lastTopic;

    [Benchmark(Description = "raw serialize (SerializeToUtf8Bytes)")]
    public int Raw_Serialize() => JsonSerializer.SerializeToUtf8Bytes(_reading, BenchJson.Default.Reading).Length;

    /// <summary>What <c>PublishAsync&lt;T&gt;</c> does: the per-thread writer encodes into a rented array, returned after the publish.</summary>
    [Benchmark(Description = "typed serialize (PooledBufferWriter.Encode + codec)")]
    public int Typed_Serialize()
    {
        var (rented, length) = PooledBufferWriter.Encode(_reading, Codec);
        System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        return length;
    }

    /// <summary>The pieces above the fully measured calls; PendingPublish is only made when a message has to wait (queued path).</summary>
    [Benchmark(Description = "typed new PendingPublish (queued path only)")]
    public object Typed_PendingPublish() => new PendingPublish("bench/dev-0001/reading", _payload, MqttQos.AtMostOnce, false, null, MqttOfflinePolicy.Queue, ownsPayload: false);
}
