using System.Collections.Concurrent;
using System.Diagnostics;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using static TypedMqtt.Benchmarks.Report;

namespace TypedMqtt.Benchmarks;

/// <summary>
/// Many connections in one process (section <c>scale</c>): N clients to one Mosquitto, each subscribed to its own topic,
/// typed (<see cref="MqttConnection"/>) against raw MQTTnet. Measures the time to connect them all, the managed heap and
/// working set each idle connection adds, and, for the typed clients, the reconnect storm after the broker is killed and
/// started again on the same port, and fan-out from one publisher to every subscriber at QoS 1.
/// </summary>
internal static class ScaleSuite
{
    /// <summary>Connections opened at once while connecting N (a gateway opens them in waves too).</summary>
    private const int Concurrency = 64;

    public static async Task RunAsync(Report report, int[] sizes)
    {
        var table = report.Table(
            "Connections in one process (Mosquitto, each client subscribed to its own topic; per idle connection = (after - before) / N, after a full GC)",
            "N", "variant", "connect all (s)", "connects/s", "heap KB/conn", "working set KB/conn", "failures");
        var storm = report.Table(
            "Reconnect storm: Mosquitto SIGKILLed and started again on the same port; typed clients with the default reconnect policy (first retry at a random point within 1.25 s)",
            "N", "all back after (s)", "peak connects in 100 ms", "no-jitter worst case in 100 ms", "peak / worst case", "still down");
        var fanOut = report.Table(
            "Fan-out: one typed publisher, QoS 1, to every typed subscriber (all subscribed to one topic)",
            "subscribers", "messages", "deliveries expected", "delivered", "lost", "seconds", "deliveries/s");

        await WarmUpAsync().ConfigureAwait(false);
        foreach (var n in sizes)
        {
            var typed = await MeasureTypedAsync(n, table, storm, fanOut, report).ConfigureAwait(false);
            var raw = await MeasureRawAsync(n, table).ConfigureAwait(false);
            report.Target($"Scale: {n:N0} typed connections established with 0 failures", $"{typed.Failures} failures", typed.Failures == 0);
            report.Target($"Scale: typed heap per idle connection <= raw MQTTnet's ({n:N0} connections)", $"{F(typed.HeapPerConnection / 1024, "0.0")} vs {F(raw.HeapPerConnection / 1024, "0.0")} KB", typed.HeapPerConnection <= raw.HeapPerConnection);
        }
    }

    private readonly record struct Footprint(int Failures, double HeapPerConnection);

    /// <summary>
    /// Opens and closes a wave of typed and raw connections before anything is measured, so neither variant's first
    /// size pays the process's one-time costs (statics, pools, JIT data) that both share: typed ran first and paid them
    /// all, about 0.7 KB per connection at 100.
    /// </summary>
    private static async Task WarmUpAsync()
    {
        await using var broker = await BrokerProcess.StartMosquittoAsync(manyConnections: true).ConfigureAwait(false);
        var typed = new MqttConnection?[Concurrency];
        var raw = new IMqttClient?[Concurrency];
        var factory = new MqttClientFactory();
        await ForEachAsync(Concurrency, async i =>
        {
            typed[i] = MqttConnection.Create(MqttConnectionOptionsBuilder.FromAddress(broker.Address).WithClientId($"scale-warm-typed-{i}").Build());
            await OpenTypedAsync(typed[i]!, $"scale/warm/{i}").ConfigureAwait(false);
            raw[i] = factory.CreateMqttClient();
            await ConnectRawAsync(raw[i]!, broker, $"scale-warm-raw-{i}", $"scale/warm/{i}").ConfigureAwait(false);
        }).ConfigureAwait(false);
        await ForEachAsync(Concurrency, async i =>
        {
            await typed[i]!.DisposeAsync().ConfigureAwait(false);
            await raw[i]!.DisconnectAsync().ConfigureAwait(false);
            raw[i]!.Dispose();
        }).ConfigureAwait(false);
    }

    private static async Task<Footprint> MeasureTypedAsync(int n, List<string[]> table, List<string[]> storm, List<string[]> fanOut, Report report)
    {
        var broker = await BrokerProcess.StartMosquittoAsync(manyConnections: true).ConfigureAwait(false);
        var connections = new MqttConnection[n];
        var states = new ConcurrentQueue<(long At, bool Connected)>();
        var (heapBefore, setBefore) = Memory();
        var failures = 0;
        var started = Stopwatch.StartNew();
        await ForEachAsync(n, async i =>
        {
            try
            {
                var options = MqttConnectionOptionsBuilder.FromAddress(broker.Address).WithClientId($"scale-typed-{i}").Build();
                var connection = MqttConnection.Create(options);
                connection.StateChanged += (_, e) => states.Enqueue((Stopwatch.GetTimestamp(), e.Current == MqttConnectionState.Connected));
                await OpenTypedAsync(connection, $"scale/{i}").ConfigureAwait(false);
                connections[i] = connection;
            }
            catch (Exception e) when (e is MqttConnectException or MqttOperationException or TimeoutException)
            {
                Interlocked.Increment(ref failures);
            }
        }).ConfigureAwait(false);
        var heap = RecordFootprint(table, "typed", n, started.Elapsed.TotalSeconds, heapBefore, setBefore, failures);

        try
        {
            await FanOutAsync(broker, connections.Where(c => c is not null).ToArray(), fanOut, report).ConfigureAwait(false);

            // The storm: every client sees the broker die at once and comes back under its reconnect policy.
            broker = await RestartAsync(broker, states.Clear).ConfigureAwait(false);
            var restartedAt = Stopwatch.GetTimestamp();
            var deadline = Stopwatch.StartNew();
            await UntilBackAsync(connections, n - failures, TimeSpan.FromSeconds(120)).ConfigureAwait(false);

            var back = states.Where(s => s.Connected).Select(s => s.At).Order().ToArray();
            var allBack = back.Length == 0 ? double.NaN : Stopwatch.GetElapsedTime(restartedAt, back[^1]).TotalSeconds;
            var window = Stopwatch.Frequency / 10;
            var peak = 0;
            for (int first = 0, last = 0; last < back.Length; last++)
            {
                while (back[last] - back[first] >= window)
                {
                    first++;
                }

                peak = Math.Max(peak, last - first + 1);
            }

            var buckets = back.GroupBy(t => (int)Math.Floor(Stopwatch.GetElapsedTime(restartedAt, t).TotalMilliseconds / 100)).OrderBy(g => g.Key);
            Console.WriteLine($"[scale] storm {n}: connects per 100 ms from the restart: " + string.Join(" ", buckets.Select(g => $"{g.Key * 100}:{g.Count()}")));
            var down = connections.Count(c => c is { IsConnected: false });
            var survivors = n - failures;
            storm.Add([F(n), F(allBack, "0.00"), F(peak), F(survivors), F(peak / (double)survivors, "0.00"), F(down)]);
            report.Target($"Scale: after a broker restart all {n:N0} typed connections are back", $"{F(down)} still down after {F(deadline.Elapsed.TotalSeconds, "0.0")} s", down == 0);
            report.Target($"Scale: reconnect storm peak <= 1/4 of the no-jitter worst case ({n:N0} connections)", $"{F(peak)} in 100 ms vs {F(survivors)} ({F(peak / (double)survivors, "0.00")})", peak * 4 <= survivors);
        }
        finally
        {
            await ForEachAsync(n, async i =>
            {
                if (connections[i] is { } connection)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
            await broker.DisposeAsync().ConfigureAwait(false);
        }

        return new Footprint(failures, heap);
    }

    /// <summary>
    /// The reconnect storm alone, <paramref name="n"/> typed connections, <paramref name="repeat"/> times (diagnostic
    /// <c>--storm-run N</c>): per 100 ms from the kill, the attempts started, the connects that completed, the attempts that
    /// failed, the thread pool's threads and queued items, and the garbage collector's pause and collections.
    /// </summary>
    public static async Task StormRunAsync(int n, int repeat)
    {
        await WarmUpAsync().ConfigureAwait(false);
        var broker = await BrokerProcess.StartMosquittoAsync(manyConnections: true).ConfigureAwait(false);
        var connections = new MqttConnection[n];
        var events = new ConcurrentQueue<(long At, MqttConnectionState State)>();
        await ForEachAsync(n, async i =>
        {
            var connection = MqttConnection.Create(MqttConnectionOptionsBuilder.FromAddress(broker.Address).WithClientId($"storm-{i}").Build());
            connection.StateChanged += (_, e) => events.Enqueue((Stopwatch.GetTimestamp(), e.Current));
            await OpenTypedAsync(connection, $"scale/{i}").ConfigureAwait(false);
            connections[i] = connection;
        }).ConfigureAwait(false);
        try
        {
            for (var round = 0; round < repeat; round++)
            {
                events.Clear();
                var samples = new ConcurrentQueue<(long At, int Threads, long Queued, TimeSpan Paused, int Gen0, int Gen1, int Gen2)>();
                using var stop = new CancellationTokenSource();
                var sampler = new Thread(() =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        samples.Enqueue((Stopwatch.GetTimestamp(), ThreadPool.ThreadCount, ThreadPool.PendingWorkItemCount, GC.GetTotalPauseDuration(),
                            GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)));
                        Thread.Sleep(20);
                    }
                }) { IsBackground = true };
                // The last round also ranks what was allocated, by type (the listener costs time, so not in the others).
                using var profile = round == repeat - 1 && repeat > 1 ? new AllocationProfile() : null;
                profile?.Start();
                var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
                var killedAt = Stopwatch.GetTimestamp();
                sampler.Start();
                var stoppedAt = 0L;
                broker = await RestartAsync(broker, () => stoppedAt = Stopwatch.GetTimestamp()).ConfigureAwait(false);
                var restartedAt = Stopwatch.GetTimestamp();
                await UntilBackAsync(connections, n, TimeSpan.FromSeconds(60)).ConfigureAwait(false);

                await stop.CancelAsync().ConfigureAwait(false);
                sampler.Join();
                var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
                var attempts = events.Count(e => e.State == MqttConnectionState.Connecting);
                Console.WriteLine($"[storm-run] round {round + 1}: {attempts} attempts, {allocated / 1024.0 / 1024:0.0} MB allocated ({allocated / (double)Math.Max(attempts, 1) / 1024:0.0} KB per attempt, links lost and attempts failed included), heap now {GC.GetTotalMemory(false) / 1024 / 1024} MB");
                if (profile?.Stop() is { } ranked)
                {
                    foreach (var (type, bytes) in ranked.Take(30))
                    {
                        Console.WriteLine($"    {bytes / (double)Math.Max(attempts, 1),8:0} B/attempt  {type}");
                    }
                }

                int Bucket(long at) => (int)Math.Floor(Stopwatch.GetElapsedTime(killedAt, at).TotalMilliseconds / 100);
                var byBucket = events.GroupBy(e => Bucket(e.At)).ToDictionary(g => g.Key, g => g.ToList());
                var sampled = samples.GroupBy(s => Bucket(s.At)).ToDictionary(g => g.Key, g => g.ToList());
                Console.WriteLine($"[storm-run] round {round + 1}: broker stopped at {Stopwatch.GetElapsedTime(killedAt, stoppedAt).TotalMilliseconds:0} ms, listening again at {Stopwatch.GetElapsedTime(killedAt, restartedAt).TotalMilliseconds:0} ms; all back: {connections.Count(c => c.IsConnected) == n}");
                Console.WriteLine("     ms  down attempts connected        | threads queued(max) | GC pause ms  gen0 gen1 gen2  (down: links lost and attempts failed)");
                var last = Math.Max(byBucket.Keys.DefaultIfEmpty(0).Max(), sampled.Keys.DefaultIfEmpty(0).Max());
                var previous = samples.First();
                for (var b = 0; b <= last; b++)
                {
                    var e = byBucket.GetValueOrDefault(b) ?? [];
                    var s = sampled.GetValueOrDefault(b);
                    var tail = s is null ? previous : s[^1];
                    Console.WriteLine($"  {b * 100,5} {e.Count(x => x.State == MqttConnectionState.Disconnected),5} {e.Count(x => x.State == MqttConnectionState.Connecting),8} {e.Count(x => x.State == MqttConnectionState.Connected),9}        | {tail.Threads,7} {(s is null ? 0 : s.Max(x => x.Queued)),6}      | {(tail.Paused - previous.Paused).TotalMilliseconds,8:0.0} {tail.Gen0 - previous.Gen0,5} {tail.Gen1 - previous.Gen1,4} {tail.Gen2 - previous.Gen2,4}");
                    previous = tail;
                }

                await Task.Delay(2_000).ConfigureAwait(false);
            }
        }
        finally
        {
            await ForEachAsync(n, async i => await connections[i].DisposeAsync().ConfigureAwait(false)).ConfigureAwait(false);
            await broker.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Kills the broker, runs <paramref name="whileDown"/>, and starts a new one on the same port.</summary>
    private static async Task<BrokerProcess> RestartAsync(BrokerProcess broker, Action whileDown)
    {
        var port = broker.Port;
        await broker.DisposeAsync().ConfigureAwait(false);
        whileDown();
        return await BrokerProcess.StartMosquittoAsync(manyConnections: true, port: port).ConfigureAwait(false);
    }

    /// <summary>Waits until <paramref name="expected"/> of the connections are connected again, or <paramref name="limit"/> passed.</summary>
    private static async Task UntilBackAsync(MqttConnection?[] connections, int expected, TimeSpan limit)
    {
        var waited = Stopwatch.StartNew();
        while (connections.Count(c => c is { IsConnected: true }) < expected && waited.Elapsed < limit)
        {
            await Task.Delay(100).ConfigureAwait(false);
        }
    }

    private static async Task FanOutAsync(BrokerProcess broker, MqttConnection[] subscribers, List<string[]> fanOut, Report report)
    {
        const int messages = 100;
        var delivered = 0L;
        var subscriptions = new MqttSubscription[subscribers.Length];
        await ForEachAsync(subscribers.Length, async i =>
            subscriptions[i] = await subscribers[i].SubscribeAsync("scale/all", (_, _, _) =>
            {
                Interlocked.Increment(ref delivered);
                return Task.CompletedTask;
            }, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce }).ConfigureAwait(false)).ConfigureAwait(false);

        await using var publisher = await MqttConnection.ConnectAsync(broker.Address).ConfigureAwait(false);
        var expected = (long)messages * subscribers.Length;
        var started = Stopwatch.StartNew();
        for (var m = 0; m < messages; m++)
        {
            await publisher.PublishAsync("scale/all", "x"u8.ToArray(), MqttQos.AtLeastOnce).ConfigureAwait(false);
        }

        var stalled = Stopwatch.StartNew();
        var seen = -1L;
        while (Interlocked.Read(ref delivered) < expected && stalled.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20).ConfigureAwait(false);
            if (Interlocked.Read(ref delivered) != seen)
            {
                seen = Interlocked.Read(ref delivered);
                stalled.Restart();
            }
        }

        var seconds = started.Elapsed.TotalSeconds;
        var got = Interlocked.Read(ref delivered);
        fanOut.Add([F(subscribers.Length), F(messages), F(expected), F(got), F(expected - got), F(seconds, "0.00"), F(got / seconds)]);
        report.Target($"Scale: fan-out of {messages} QoS 1 messages to {subscribers.Length:N0} subscribers loses none", $"{F(got)} of {F(expected)} delivered", got == expected);
        Console.WriteLine($"[scale] fan-out to {subscribers.Length}: {got} of {expected} in {seconds:0.00} s");
        foreach (var subscription in subscriptions)
        {
            if (subscription is not null)
            {
                await subscription.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<Footprint> MeasureRawAsync(int n, List<string[]> table)
    {
        await using var broker = await BrokerProcess.StartMosquittoAsync(manyConnections: true).ConfigureAwait(false);
        var factory = new MqttClientFactory();
        var clients = new IMqttClient[n];
        var (heapBefore, setBefore) = Memory();
        var failures = 0;
        var started = Stopwatch.StartNew();
        await ForEachAsync(n, async i =>
        {
            var client = factory.CreateMqttClient();
            try
            {
                await ConnectRawAsync(client, broker, $"scale-raw-{i}", $"scale/{i}").ConfigureAwait(false);
                clients[i] = client;
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException)
            {
                Interlocked.Increment(ref failures);
                client.Dispose();
            }
        }).ConfigureAwait(false);
        var heap = RecordFootprint(table, "raw", n, started.Elapsed.TotalSeconds, heapBefore, setBefore, failures);
        await ForEachAsync(n, async i =>
        {
            if (clients[i] is { } client)
            {
                await client.DisconnectAsync().ConfigureAwait(false);
                client.Dispose();
            }
        }).ConfigureAwait(false);
        return new Footprint(failures, heap);
    }

    /// <summary>A typed connection opened and subscribed to its own topic.</summary>
    private static async Task OpenTypedAsync(MqttConnection connection, string topic)
    {
        await connection.OpenAsync().ConfigureAwait(false);
        await connection.SubscribeAsync(topic, static (_, _, _) => Task.CompletedTask).ConfigureAwait(false);
    }

    /// <summary>A raw MQTTnet client connected and subscribed to its own topic at QoS 1, with a handler that does nothing.</summary>
    private static async Task ConnectRawAsync(IMqttClient client, BrokerProcess broker, string clientId, string topic)
    {
        client.ApplicationMessageReceivedAsync += static _ => Task.CompletedTask;
        await client.ConnectAsync(broker.RawOptions(clientId)).ConfigureAwait(false);
        await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(topic, MqttQualityOfServiceLevel.AtLeastOnce).Build()).ConfigureAwait(false);
    }

    /// <summary>Measures the heap and working set after N connections, adds the table row and returns the heap per connection.</summary>
    private static double RecordFootprint(List<string[]> table, string variant, int n, double connectSeconds, long heapBefore, long setBefore, int failures)
    {
        var (heapAfter, setAfter) = Memory();
        var heap = (heapAfter - heapBefore) / (double)n;
        table.Add([F(n), variant, F(connectSeconds, "0.00"), F(n / connectSeconds), F(heap / 1024, "0.0"), F((setAfter - setBefore) / 1024.0 / n, "0.0"), F(failures)]);
        Console.WriteLine($"[scale] {variant} {n}: connected in {connectSeconds:0.00} s, {heap / 1024:0.0} KB heap per connection, {failures} failures");
        return heap;
    }

    private static (long Heap, long WorkingSet) Memory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var self = Process.GetCurrentProcess();
        return (GC.GetTotalMemory(forceFullCollection: true), self.WorkingSet64);
    }

    private static Task ForEachAsync(int n, Func<int, Task> body) =>
        Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (i, _) => await body(i).ConfigureAwait(false));
}
