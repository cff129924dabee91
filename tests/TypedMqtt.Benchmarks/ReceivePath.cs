using System.Globalization;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using MQTTnet;
using TypedMqtt.Dispatch;

namespace TypedMqtt.Benchmarks;

/// <summary>
/// Receive path with 1, 100 and 10,000 active subscriptions (exact filters, '+' and '#' at several levels), only one of
/// which matches the message. Typed: the real connection's SubscriptionRegistry/TopicTrie and, for the full path,
/// MqttConnection.OnMessageReceivedAsync with the generated client's decoder and sink. Hand-written: one handler that
/// knows its topic. Linear: a list of (filter, handler) scanned with MQTTnet's MqttTopicFilterComparer.
/// </summary>
[MemoryDiagnoser]
public class ReceivePath
{
    private const string Topic = "bench/dev-0001/reading";
    private readonly byte[] _payload = JsonSerializer.SerializeToUtf8Bytes(Reading.Sample, BenchJson.Default.Reading);
    private readonly List<SubscriptionRegistry.FilterEntry> _scratch = [];
    private readonly List<MessageSink> _sinks = [];
    private ConnectionRig _rig = null!;
    private string[] _filters = [];
    private MQTTnet.Packets.MqttPublishPacket _received = null!;
    private MqttApplicationMessage _receivedByMqttnet = null!;
    private IAsyncDisposable? _subscription;
    private int _handled;
    private double _sink;

    [Params(1, 100, 10_000)]
    public int Subscriptions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _rig = new ConnectionRig();
        var client = new BenchQos0Client(_rig.Connection);
        _subscription = client.OnReadingAsync(OnTyped).GetAwaiter().GetResult();
        _filters = [.. Filters(Subscriptions)];
        foreach (var filter in _filters.Skip(1))
        {
            _ = _rig.Connection.SubscribeAsync<int>(filter, static (_, _) => 0, static (_, _, _) => Task.CompletedTask).GetAwaiter().GetResult();
        }

        _received = ConnectionRig.Received(Topic, _payload);
        _receivedByMqttnet = ConnectionRig.ReceivedByMqttnet(Topic, _payload);
        if (_rig.Registry.FilterCount != Subscriptions)
        {
            throw new InvalidOperationException($"{_rig.Registry.FilterCount} filters registered, expected {Subscriptions}");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _subscription?.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>The matching filter first, then a mix that shares prefixes and wildcards with it but never matches the topic.</summary>
    public static IEnumerable<string> Filters(int count)
    {
        yield return "bench/+/reading";
        for (var i = 1; i < count; i++)
        {
            var n = i.ToString(CultureInfo.InvariantCulture);
            yield return (i % 5) switch
            {
                0 => $"bench/dev-x{n}/reading",
                1 => $"bench/+/status-{n}",
                2 => $"+/dev-x{n}/#",
                3 => $"fleet/{n}/#",
                _ => $"site/{n}/+/temperature",
            };
        }
    }

    [Benchmark(Description = "typed dispatch (trie)")]
    public int Typed_Dispatch()
    {
        _sinks.Clear();
        _rig.Registry.Collect(Topic, _scratch, _sinks);
        return _sinks.Count;
    }

    [Benchmark(Description = "linear dispatch (MqttTopicFilterComparer)")]
    public int Linear_Dispatch()
    {
        var matches = 0;
        foreach (var filter in _filters)
        {
            if (MqttTopicFilterComparer.Compare(Topic, filter) == MqttTopicFilterCompareResult.IsMatch)
            {
                matches++;
            }
        }

        return matches;
    }

    [Benchmark(Description = "typed full receive (OnMessageReceivedAsync)")]
    public ValueTask Typed_Receive() => _rig.OnMessageReceived(_received);

    [Benchmark(Description = "hand-written receive (one handler, Split + Deserialize)")]
    public Task Raw_Receive()
    {
        var (device, reading) = EndToEnd.HandWrittenDecode(_receivedByMqttnet);
        return OnTyped(device, reading);
    }

    [Benchmark(Description = "linear receive (scan + hand-written decode)")]
    public Task Linear_Receive()
    {
        foreach (var filter in _filters)
        {
            if (MqttTopicFilterComparer.Compare(Topic, filter) == MqttTopicFilterCompareResult.IsMatch)
            {
                var (device, reading) = EndToEnd.HandWrittenDecode(_receivedByMqttnet);
                _ = OnTyped(device, reading);
            }
        }

        return Task.CompletedTask;
    }

    private Task OnTyped(string device, Reading reading)
    {
        _sink += reading.Celsius + device.Length;
        Interlocked.Increment(ref _handled);
        return Task.CompletedTask;
    }
}

/// <summary>The receive path's pieces, one at a time.</summary>
[MemoryDiagnoser]
public class ReceivePieces
{
    private const string Topic = "bench/dev-0001/reading";
    private static readonly JsonPayloadCodec<Reading> Codec = new(BenchJson.Default.Reading, allowNull: false);
    private readonly MqttApplicationMessage _message = ConnectionRig.ReceivedByMqttnet(Topic, JsonSerializer.SerializeToUtf8Bytes(Reading.Sample, BenchJson.Default.Reading));
    private readonly MQTTnet.Packets.MqttPublishPacket _packet = ConnectionRig.Received(Topic, JsonSerializer.SerializeToUtf8Bytes(Reading.Sample, BenchJson.Default.Reading));

    [Benchmark(Description = "typed topic-name check (TopicRules.CheckTopicName)")]
    public string? Typed_TopicCheck() => Topics.TopicRules.CheckTopicName(_message.Topic);

    [Benchmark(Description = "typed CreateContext (MqttMessageContext per message)")]
    public MqttMessageContext Typed_CreateContext() => ConnectionRig.CreateContext(_packet);

    /// <summary>The generated decoder's expression, as emitted for IBenchQos0.OnReadingAsync.</summary>
    [Benchmark(Description = "typed decode (generated: GetLevel + Reuse + codec.Decode)")]
    public (string, Reading) Typed_Decode() => (MqttTopic.Reuse(ref _lastDevice, MqttTopic.GetLevel(_message.Topic, 1)), Codec.Decode(_message.Payload));

    private static string? _lastDevice;

    [Benchmark(Description = "raw decode (Split + Deserialize)")]
    public (string, Reading) Raw_Decode() => EndToEnd.HandWrittenDecode(_message);
}
