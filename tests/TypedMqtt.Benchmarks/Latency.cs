using System.Diagnostics;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using static TypedMqtt.Benchmarks.Report;

namespace TypedMqtt.Benchmarks;

/// <summary>One latency workload: a QoS and an offered load (messages a second, sent in 1 ms steps), or 0 for one at a time.</summary>
internal sealed record LatencyScenario(MqttQos Qos, int Rate, int Messages)
{
    public string Name => $"QoS {(int)Qos}, {(Rate == 0 ? "one at a time" : $"{Rate:N0} msg/s")}";
}

/// <summary>
/// Latency percentiles of one run, in microseconds, from the publish call to the subscriber's handler, and how long the
/// garbage collector paused this process during the run (milliseconds; 0 for the C anchor, which has none).
/// </summary>
internal readonly record struct LatencyResult(int Sent, int Received, double P50, double P99, double P999, double GcPauseMs = 0);

/// <summary>
/// Latency through Mosquitto: typed, raw MQTTnet and the C anchor, interleaved. Each run sends N messages at a fixed
/// offered load (what is due goes out every millisecond) or one at a time (the next publish once the last message reached
/// the handler), and records, per message, the time from the publish call to the handler's entry; percentiles are exact
/// (every sample kept). Publisher and subscriber share this process's clock, as in the C anchor.
/// </summary>
internal static class LatencySuite
{
    public static LatencyScenario[] Scenarios(bool quick)
    {
        var scale = quick ? 0.2 : 1.0;
        return
        [
            new LatencyScenario(MqttQos.AtMostOnce, 1_000, (int)(3_000 * scale)),
            new LatencyScenario(MqttQos.AtMostOnce, 10_000, (int)(20_000 * scale)),
            new LatencyScenario(MqttQos.AtMostOnce, 0, (int)(3_000 * scale)),
            new LatencyScenario(MqttQos.AtLeastOnce, 1_000, (int)(3_000 * scale)),
            new LatencyScenario(MqttQos.AtLeastOnce, 10_000, (int)(20_000 * scale)),
            new LatencyScenario(MqttQos.AtLeastOnce, 0, (int)(3_000 * scale)),
        ];
    }

    public static async Task RunAsync(Report report, bool quick, int runs)
    {
        var table = report.Table(
            $"Latency through Mosquitto (set_tcp_nodelay true), publish call to handler entry (us; median over {runs} interleaved runs of each percentile; every sample counted)",
            "scenario", "N", "typed p50", "raw p50", "C p50", "typed p99", "raw p99", "C p99", "typed p99.9", "raw p99.9", "C p99.9", "typed p99 / raw, / C", "GC pause ms per run typed/raw", "lost typed/raw/C");
        var c = CAnchor.Binary.Binary;
        if (c is null)
        {
            report.Target("Latency: C anchor measured", $"not measured: {CAnchor.Binary.Why}", false);
        }

        await using var broker = await BrokerProcess.StartMosquittoAsync(noDelay: true).ConfigureAwait(false);
        foreach (var scenario in Scenarios(quick))
        {
            var variants = c is null ? new[] { Variant.Typed, Variant.Raw } : [Variant.Typed, Variant.Raw, Variant.C];
            foreach (var variant in variants)
            {
                await WarmUpAsync(variant, broker, scenario).ConfigureAwait(false);
            }

            var results = variants.ToDictionary(v => v, _ => new List<LatencyResult>());
            for (var round = 0; round < runs; round++)
            {
                foreach (var variant in round % 2 == 0 ? variants : variants.Reverse())
                {
                    var result = await RunAsync(variant, broker, scenario).ConfigureAwait(false);
                    results[variant].Add(result);
                    Console.WriteLine($"[latency] {scenario.Name,-26} {variant,-6} run {round + 1}: p50 {result.P50,8:N1} us  p99 {result.P99,8:N1} us  p99.9 {result.P999,9:N1} us  GC {result.GcPauseMs,5:N1} ms{(result.Received < result.Sent ? $" LOST {result.Sent - result.Received}" : string.Empty)}");
                }
            }

            (double P50, double P99, double P999, double GcPause, long Lost) Of(Variant v) => results.TryGetValue(v, out var list)
                ? (Median(list.Select(r => r.P50)), Median(list.Select(r => r.P99)), Median(list.Select(r => r.P999)), Median(list.Select(r => r.GcPauseMs)), list.Sum(r => (long)(r.Sent - r.Received)))
                : (double.NaN, double.NaN, double.NaN, double.NaN, 0);
            var typed = Of(Variant.Typed);
            var raw = Of(Variant.Raw);
            var anchor = Of(Variant.C);
            table.Add(
            [
                scenario.Name, F(scenario.Messages),
                F(typed.P50, "0"), F(raw.P50, "0"), F(anchor.P50, "0"),
                F(typed.P99, "0"), F(raw.P99, "0"), F(anchor.P99, "0"),
                F(typed.P999, "0"), F(raw.P999, "0"), F(anchor.P999, "0"),
                $"{F(typed.P99 / raw.P99, "0.00")}, {F(typed.P99 / anchor.P99, "0.00")}",
                $"{F(typed.GcPause, "0.0")} / {F(raw.GcPause, "0.0")}",
                $"{F(typed.Lost)} / {F(raw.Lost)} / {F(anchor.Lost)}",
            ]);
            if (scenario.Rate > 0)
            {
                report.Target($"Latency typed p99 <= raw MQTTnet p99: {scenario.Name}", $"{F(typed.P99, "0")} vs {F(raw.P99, "0")} us ({F(typed.P99 / raw.P99, "0.00")} x)", typed.P99 <= raw.P99 && typed.Lost == 0);
                if (c is not null)
                {
                    report.Target($"Latency typed p99 <= 1.5 x the C client's p99: {scenario.Name}", $"{F(typed.P99, "0")} vs {F(anchor.P99, "0")} us ({F(typed.P99 / anchor.P99, "0.00")} x)", typed.P99 <= 1.5 * anchor.P99 && typed.Lost == 0);
                }
            }
        }

        report.Note("Latency: paced runs send what is due every millisecond (1,000 msg/s: one message a step; 10,000 msg/s: ten), without waiting for acknowledgements; " +
            "'one at a time' sends the next message when the last one reached the handler (a full round trip each). GC pause = GC.GetTotalPauseDuration over the run (both .NET clients share the process; every thread stops for it). The C anchor measures the same way in C (Anchor/mosquitto_anchor.c).");
    }

    /// <summary>Runs one variant's paced scenarios <paramref name="times"/> times each and prints each run (a diagnostic).</summary>
    public static async Task RepeatAsync(Variant variant, int times)
    {
        await using var broker = await BrokerProcess.StartMosquittoAsync(noDelay: true).ConfigureAwait(false);
        foreach (var scenario in Scenarios(quick: false).Where(s => s.Rate > 0))
        {
            await WarmUpAsync(variant, broker, scenario).ConfigureAwait(false);
            for (var i = 0; i < times; i++)
            {
                var result = await RunAsync(variant, broker, scenario).ConfigureAwait(false);
                Console.WriteLine($"[latency-run] {scenario.Name,-26} {variant,-6} p50 {result.P50,8:N1} us  p99 {result.P99,8:N1} us  p99.9 {result.P999,9:N1} us  GC {result.GcPauseMs,5:N1} ms");
            }
        }
    }

    /// <summary>Not counted: a .NET variant runs the scenario until its code is optimised (<see cref="WarmUp"/>), the C anchor once.</summary>
    private static Task WarmUpAsync(Variant variant, BrokerProcess broker, LatencyScenario scenario) =>
        WarmUp.ForAsync(variant == Variant.C ? TimeSpan.Zero : WarmUp.Minimum, () => RunAsync(variant, broker, scenario));

    private static Task<LatencyResult> RunAsync(Variant variant, BrokerProcess broker, LatencyScenario scenario) => variant switch
    {
        Variant.Typed => RunTypedAsync(broker, scenario),
        Variant.Raw => RunRawAsync(broker, scenario),
        Variant.C => CAnchor.RunLatencyAsync(CAnchor.Binary.Binary!, broker, scenario),
        _ => throw new ArgumentOutOfRangeException(nameof(variant)),
    };

    private static async Task<LatencyResult> RunTypedAsync(BrokerProcess broker, LatencyScenario scenario)
    {
        var probe = new Probe(scenario.Messages);
        var id = Guid.NewGuid().ToString("N")[..8];
        if (scenario.Qos == MqttQos.AtMostOnce)
        {
            await using var subscriber = await BenchQos0Client.ConnectAsync(broker.Address, o => o.WithClientId($"lat-sub-{id}")).ConfigureAwait(false);
            await using var publisher = await BenchQos0Client.ConnectAsync(broker.Address, o => o.WithClientId($"lat-pub-{id}")).ConfigureAwait(false);
            await using var subscription = await subscriber.OnReadingAsync(probe.OnTyped).ConfigureAwait(false);
            return await probe.RunAsync(scenario, () => publisher.PublishAsync("dev-0001", Reading.Sample)).ConfigureAwait(false);
        }
        else
        {
            await using var subscriber = await BenchQos1Client.ConnectAsync(broker.Address, o => o.WithClientId($"lat-sub-{id}")).ConfigureAwait(false);
            await using var publisher = await BenchQos1Client.ConnectAsync(broker.Address, o => o.WithClientId($"lat-pub-{id}")).ConfigureAwait(false);
            await using var subscription = await subscriber.OnReadingAsync(probe.OnTyped).ConfigureAwait(false);
            return await probe.RunAsync(scenario, () => publisher.PublishAsync("dev-0001", Reading.Sample)).ConfigureAwait(false);
        }
    }

    private static async Task<LatencyResult> RunRawAsync(BrokerProcess broker, LatencyScenario scenario)
    {
        var probe = new Probe(scenario.Messages);
        var id = Guid.NewGuid().ToString("N")[..8];
        var factory = new MqttClientFactory();
        using var subscriber = factory.CreateMqttClient();
        using var publisher = factory.CreateMqttClient();
        var qos = (MqttQualityOfServiceLevel)(int)scenario.Qos;
        subscriber.ApplicationMessageReceivedAsync += probe.OnRaw;
        await subscriber.ConnectAsync(broker.RawOptions($"lat-raw-sub-{id}")).ConfigureAwait(false);
        await publisher.ConnectAsync(broker.RawOptions($"lat-raw-pub-{id}")).ConfigureAwait(false);
        await subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("bench/+/reading", qos).Build()).ConfigureAwait(false);
        var result = await probe.RunAsync(scenario, () => EndToEnd.HandWrittenPublishAsync(publisher, "dev-0001", Reading.Sample, qos)).ConfigureAwait(false);
        await publisher.DisconnectAsync().ConfigureAwait(false);
        await subscriber.DisconnectAsync().ConfigureAwait(false);
        return result;
    }


    /// <summary>Sends on schedule, notes each publish call's time, and on each arrival the time since its publish call.</summary>
    private sealed class Probe(int messages)
    {
        private readonly long[] _sentAt = new long[messages];
        private readonly double[] _latencies = new double[messages];
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _received;

        public Task OnTyped(string device, Reading reading)
        {
            Arrived();
            return Task.CompletedTask;
        }

        public Task OnRaw(MqttApplicationMessageReceivedEventArgs e)
        {
            _ = EndToEnd.HandWrittenDecode(e.ApplicationMessage);
            Arrived();
            return Task.CompletedTask;
        }

        private void Arrived()
        {
            var now = Stopwatch.GetTimestamp();
            var index = Interlocked.Increment(ref _received) - 1;
            if (index >= messages)
            {
                return;
            }

            _latencies[index] = Stopwatch.GetElapsedTime(Volatile.Read(ref _sentAt[index]), now).TotalMicroseconds;
            Volatile.Read(ref _next).TrySetResult();
            if (index == messages - 1)
            {
                _all.TrySetResult();
            }
        }

        public async Task<LatencyResult> RunAsync(LatencyScenario scenario, Func<Task> publish)
        {
            var pausedBefore = GC.GetTotalPauseDuration();
            if (scenario.Rate > 0)
            {
                // Paced on a thread of its own (LongRunning) that sleeps 1 ms a step (nanosleep, as the C anchor does): Task.Delay(1)
                // waits for the runtime's timer, 4.4 ms at the median on this machine, which sent 4 times larger bursts
                // than the C client's and counted the queueing behind them as the client's latency.
                var pending = await Task.Factory.StartNew(() => SendPaced(scenario.Rate, publish), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
                await Task.WhenAll(pending).ConfigureAwait(false);
            }
            else
            {
                for (var i = 0; i < messages; i++)
                {
                    Volatile.Write(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                    Volatile.Write(ref _sentAt[i], Stopwatch.GetTimestamp());
                    await publish().ConfigureAwait(false);
                    await Volatile.Read(ref _next).Task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                }
            }
            await Task.WhenAny(_all.Task, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
            var received = Math.Min(Volatile.Read(ref _received), messages);
            var samples = _latencies.Take(received).ToArray();
            var paused = (GC.GetTotalPauseDuration() - pausedBefore).TotalMilliseconds;
            return new LatencyResult(messages, received, Percentile(samples, 0.50), Percentile(samples, 0.99), Percentile(samples, 0.999), paused);
        }

        /// <summary>Sends whatever is due by now, then sleeps 1 ms, until every message went out; returns the publishes' tasks.</summary>
        private List<Task> SendPaced(int rate, Func<Task> publish)
        {
            var pending = new List<Task>(messages);
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < messages; i++)
            {
                while (Stopwatch.GetElapsedTime(started).TotalSeconds * rate < i)
                {
                    Thread.Sleep(1);
                }

                Volatile.Write(ref _sentAt[i], Stopwatch.GetTimestamp());
                pending.Add(publish());
            }

            return pending;
        }
    }
}
