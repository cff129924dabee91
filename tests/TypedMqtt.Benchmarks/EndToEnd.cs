using System.Diagnostics;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace TypedMqtt.Benchmarks;

/// <summary>One E2E workload: a QoS, how many publishes may be outstanding at once, and the transport (TCP, or WebSocket).</summary>
internal sealed record Scenario(string Name, MqttQos Qos, int Window, int Messages, bool WebSocket = false);

/// <summary>What one run measured.</summary>
internal readonly record struct RunResult(int Sent, int Received, double Seconds, long AllocatedBytes, double CpuSeconds = 0, double BrokerCpuSeconds = 0, double BrokerWaitSeconds = 0)
{
    public RunResult(int sent, int received, double seconds, long allocatedBytes, double cpuSeconds, BrokerTime broker)
        : this(sent, received, seconds, allocatedBytes, cpuSeconds, broker.Running, broker.Waiting)
    {
        Broker = broker;
    }

    /// <summary>The broker's counters over the run (zeros for the embedded broker's missing ones).</summary>
    public BrokerTime Broker { get; }

    /// <summary>Per message: the broker's wakes, read calls and write calls.</summary>
    public string BrokerCallsPerMessage => FormattableString.Invariant($"{(double)Broker.Wakes / Sent:0.00} wakes {(double)Broker.Reads / Sent:0.00} reads {(double)Broker.Writes / Sent:0.00} writes");

    /// <summary>The broker's CPU time per message over the run.</summary>
    public double BrokerCpuMicrosecondsPerMessage => BrokerCpuSeconds * 1e6 / Sent;

    /// <summary>The share of the run's wall time the broker's CPU was busy (Mosquitto is single-threaded: 1.0 is its limit).</summary>
    public double BrokerBusy => BrokerCpuSeconds / Seconds;

    /// <summary>The share of the run's wall time the broker was ready to run but waited for a CPU (taken by other threads).</summary>
    public double BrokerWaiting => BrokerWaitSeconds / Seconds;

    public double MessagesPerSecond => Received / Seconds;

    /// <summary>CPU time of this process (both clients, all threads) per message: much less sensitive to other load on the machine than msg/s.</summary>
    public double CpuMicrosecondsPerMessage => CpuSeconds * 1e6 / Sent;

    public double BytesPerMessage => (double)AllocatedBytes / Sent;
}

internal enum Variant
{
    /// <summary>MQTTnet with a pre-serialized payload, a pre-built message and a handler that only counts: what MQTTnet itself costs.</summary>
    Floor,

    /// <summary>What a user writes by hand: MQTTnet + System.Text.Json (source-generated context), topic built and parsed with string APIs.</summary>
    Raw,

    /// <summary>The generated TypedMqtt client.</summary>
    Typed,

    /// <summary>The generated client with telemetry listening (every span recorded, every instrument measured).</summary>
    TypedTraced,

    /// <summary>The C anchor: libmosquitto's publisher and subscriber in their own process (<see cref="CAnchor"/>).</summary>
    C,

    /// <summary>
    /// The generated client with <c>DedicatedReadingThread</c>: a reading thread per connection, as libmosquitto's
    /// <c>mosquitto_loop_start</c> gives each C client (TCP only).
    /// </summary>
    TypedThread,
}

/// <summary>
/// The end-to-end harness: one publisher and one subscriber client in this process, the broker in another; the publisher
/// sends N messages (sequentially, or keeping up to Window publishes outstanding), the subscriber's handler counts them,
/// and the run ends when the last one arrives. Allocation is GC.GetTotalAllocatedBytes(precise) over the run, so it is
/// everything both clients allocated (the broker is another process), divided by N.
/// </summary>
internal static class EndToEnd
{
    private const string Device = "dev-0001";
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(2);
    private static int _runId;

    public static async Task<RunResult> RunAsync(Variant variant, BrokerProcess broker, Scenario scenario)
    {
        var id = Interlocked.Increment(ref _runId);
        var counter = new Counter(scenario.Messages);
        return variant switch
        {
            Variant.Typed => await RunTypedAsync(broker, scenario, counter, id).ConfigureAwait(false),
            Variant.TypedThread => await RunTypedAsync(broker, scenario, counter, id, ownThread: true).ConfigureAwait(false),
            Variant.TypedTraced => await RunTracedAsync(broker, scenario, counter, id).ConfigureAwait(false),
            Variant.C => await CAnchor.RunAsync(CAnchor.Binary.Binary ?? throw new InvalidOperationException(CAnchor.Binary.Why), broker, scenario).ConfigureAwait(false),
            _ => await RunRawAsync(variant == Variant.Floor, broker, scenario, counter, id).ConfigureAwait(false),
        };
    }

    private static async Task<RunResult> RunTracedAsync(BrokerProcess broker, Scenario scenario, Counter counter, int id)
    {
        using var telemetry = new TelemetryListeners();
        return await RunTypedAsync(broker, scenario, counter, id).ConfigureAwait(false);
    }

    private static async Task<RunResult> RunTypedAsync(BrokerProcess broker, Scenario scenario, Counter counter, int id, bool ownThread = false)
    {
        var reading = Reading.Sample;
        if (scenario.Qos == MqttQos.AtMostOnce)
        {
            await using var subscriber = await BenchQos0Client.ConnectAsync(broker.AddressFor(scenario), o => o.WithClientId($"typed-sub-{id}").WithDedicatedReadingThread(ownThread)).ConfigureAwait(false);
            await using var publisher = await BenchQos0Client.ConnectAsync(broker.AddressFor(scenario), o => o.WithClientId($"typed-pub-{id}").WithDedicatedReadingThread(ownThread)).ConfigureAwait(false);
            await using var subscription = await subscriber.OnReadingAsync(counter.OnTyped).ConfigureAwait(false);
            return await MeasureAsync(broker, scenario, counter, () => publisher.PublishAsync(Device, reading)).ConfigureAwait(false);
        }
        else
        {
            await using var subscriber = await BenchQos1Client.ConnectAsync(broker.AddressFor(scenario), o => o.WithClientId($"typed-sub-{id}").WithDedicatedReadingThread(ownThread)).ConfigureAwait(false);
            await using var publisher = await BenchQos1Client.ConnectAsync(broker.AddressFor(scenario), o => o.WithClientId($"typed-pub-{id}").WithDedicatedReadingThread(ownThread)).ConfigureAwait(false);
            await using var subscription = await subscriber.OnReadingAsync(counter.OnTyped).ConfigureAwait(false);
            return await MeasureAsync(broker, scenario, counter, () => publisher.PublishAsync(Device, reading)).ConfigureAwait(false);
        }
    }

    private static async Task<RunResult> RunRawAsync(bool floor, BrokerProcess broker, Scenario scenario, Counter counter, int id)
    {
        var factory = new MqttClientFactory();
        using var subscriber = factory.CreateMqttClient();
        using var publisher = factory.CreateMqttClient();
        var qos = (MqttQualityOfServiceLevel)(int)scenario.Qos;
        subscriber.ApplicationMessageReceivedAsync += floor ? counter.OnFloor : counter.OnRaw;
        await subscriber.ConnectAsync(Options(broker, scenario, $"raw-sub-{id}")).ConfigureAwait(false);
        await publisher.ConnectAsync(Options(broker, scenario, $"raw-pub-{id}")).ConfigureAwait(false);
        await subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("bench/+/reading", qos).Build()).ConfigureAwait(false);

        Func<Task> publish;
        if (floor)
        {
            var prebuilt = new MqttApplicationMessageBuilder()
                .WithTopic($"bench/{Device}/reading")
                .WithPayload(JsonSerializer.SerializeToUtf8Bytes(Reading.Sample, BenchJson.Default.Reading))
                .WithQualityOfServiceLevel(qos)
                .Build();
            publish = () => publisher.PublishAsync(prebuilt);
        }
        else
        {
            publish = () => HandWrittenPublishAsync(publisher, Device, Reading.Sample, qos);
        }

        var result = await MeasureAsync(broker, scenario, counter, publish).ConfigureAwait(false);
        await publisher.DisconnectAsync().ConfigureAwait(false);
        await subscriber.DisconnectAsync().ConfigureAwait(false);
        return result;
    }

    /// <summary>The hand-written publish: what the typed client replaces.</summary>
    public static async Task HandWrittenPublishAsync(IMqttClient client, string device, Reading reading, MqttQualityOfServiceLevel qos)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic($"bench/{device}/reading")
            .WithPayload(JsonSerializer.SerializeToUtf8Bytes(reading, BenchJson.Default.Reading))
            .WithQualityOfServiceLevel(qos)
            .Build();
        var result = await client.PublishAsync(message).ConfigureAwait(false);
        if (!result.IsSuccess && result.ReasonCode != MqttClientPublishReasonCode.NoMatchingSubscribers)
        {
            throw new InvalidOperationException("publish refused: " + result.ReasonCode);
        }
    }

    /// <summary>The hand-written receive: parse the topic, deserialize, call the application.</summary>
    public static (string Device, Reading Reading) HandWrittenDecode(MqttApplicationMessage message)
    {
        var device = message.Topic.Split('/')[1];
        var reader = new Utf8JsonReader(message.Payload);
        var reading = JsonSerializer.Deserialize(ref reader, BenchJson.Default.Reading) ?? throw new JsonException("null payload");
        return (device, reading);
    }

    private static MqttClientOptions Options(BrokerProcess broker, Scenario scenario, string clientId)
    {
        var builder = new MqttClientOptionsBuilder();
        builder = scenario.WebSocket ? builder.WithWebSocketServer(o => o.WithUri(broker.AddressFor(scenario))) : builder.WithTcpServer("127.0.0.1", broker.Port);
        return builder
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId(clientId)
            .WithCleanStart(true)
            .Build();
    }

    private static async Task<RunResult> MeasureAsync(BrokerProcess broker, Scenario scenario, Counter counter, Func<Task> publish)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var brokerBefore = broker.Time();
        var started = Stopwatch.GetTimestamp();
        counter.Start(started);

        var window = new Task[Math.Max(1, scenario.Window)];
        for (var i = 0; i < scenario.Messages; i++)
        {
            var slot = i % window.Length;
            if (window[slot] is { } previous)
            {
                await previous.ConfigureAwait(false);
            }

            window[slot] = publish();
            if (window.Length == 1)
            {
                await window[0].ConfigureAwait(false);
            }
        }

        foreach (var pending in window)
        {
            if (pending is not null)
            {
                await pending.ConfigureAwait(false);
            }
        }

        var ended = await counter.WaitAsync(Stall).ConfigureAwait(false);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        var brokerTime = broker.Time() - brokerBefore;
        return new RunResult(scenario.Messages, counter.Received, Stopwatch.GetElapsedTime(started, ended).TotalSeconds, allocated, cpu, brokerTime);
    }

    /// <summary>The subscriber's handlers: they count, and note when the last expected message arrived.</summary>
    private sealed class Counter(int expected)
    {
        private readonly TaskCompletionSource<long> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _received;
        private long _last;
        private double _sink;

        public int Received => Volatile.Read(ref _received);

        public void Start(long timestamp) => Volatile.Write(ref _last, timestamp);

        public Task OnTyped(string device, Reading reading)
        {
            Consume(device, reading);
            return Task.CompletedTask;
        }

        public Task OnRaw(MqttApplicationMessageReceivedEventArgs e)
        {
            var (device, reading) = HandWrittenDecode(e.ApplicationMessage);
            Consume(device, reading);
            return Task.CompletedTask;
        }

        public Task OnFloor(MqttApplicationMessageReceivedEventArgs e)
        {
            Count();
            return Task.CompletedTask;
        }

        private void Consume(string device, Reading reading)
        {
            // Touch what was decoded so nothing is optimised away; both variants do the same.
            _sink += reading.Celsius + device.Length;
            Count();
        }

        private void Count()
        {
            var now = Stopwatch.GetTimestamp();
            Volatile.Write(ref _last, now);
            if (Interlocked.Increment(ref _received) == expected)
            {
                _done.TrySetResult(now);
            }
        }

        /// <summary>Waits for the last message; if the stream stalls (a lost QoS 0 message), ends at the last one that came.</summary>
        public async Task<long> WaitAsync(TimeSpan stall)
        {
            var seen = -1;
            var stalledSince = Stopwatch.GetTimestamp();
            while (!_done.Task.IsCompleted)
            {
                await Task.WhenAny(_done.Task, Task.Delay(100)).ConfigureAwait(false);
                var now = Received;
                if (now != seen)
                {
                    seen = now;
                    stalledSince = Stopwatch.GetTimestamp();
                }
                else if (Stopwatch.GetElapsedTime(stalledSince) > stall)
                {
                    return Volatile.Read(ref _last);
                }
            }

            return await _done.Task.ConfigureAwait(false);
        }
    }
}
