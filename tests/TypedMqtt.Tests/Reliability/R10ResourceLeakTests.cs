using System.Diagnostics;
using TypedMqtt.Tests.Infrastructure;
using Xunit.Abstractions;
using static TypedMqtt.Tests.Reliability.ReliabilityKit;

namespace TypedMqtt.Tests.Reliability;

/// <summary>
/// R10: 200 connect/dispose cycles leave no handles, threads, timers or heap behind. Every cycle subscribes and
/// round-trips a QoS 1 message; every fourth goes through a proxy that resets the connection just before dispose, so
/// a reconnect loop with its backoff timer and watchdog is running when the connection is disposed.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class R10ResourceLeakTests(ITestOutputHelper output)
{
    private const int Cycles = 200;

    [MosquittoFact]
    public async Task R10_200_connect_dispose_cycles_leak_nothing()
    {
        var total = Stopwatch.StartNew();
        await using var broker = await MosquittoBroker.StartAsync(PersistentBroker());
        await using var proxy = new TcpProxy(broker.TcpPort);

        for (var i = 0; i < 20; i++)
        {
            await CycleAsync(broker, proxy, i); // warm up: JIT, pools, first-use caches
        }

        var before = await Resources.MeasureAsync();
        var cycles = Stopwatch.StartNew();
        for (var i = 0; i < Cycles; i++)
        {
            await CycleAsync(broker, proxy, i);
        }

        var cycleTime = cycles.Elapsed;
        var after = await Resources.MeasureAsync();

        Print(output, "R10", ("cycles", Cycles), ("cycle time", Ms(cycleTime)), ("total", Ms(total.Elapsed)));
        Print(output, "R10 before", ("handles", before.Handles), ("threads", before.Threads), ("timers", before.Timers), ("heap bytes", before.Heap));
        Print(output, "R10 after", ("handles", after.Handles), ("threads", after.Threads), ("timers", after.Timers), ("heap bytes", after.Heap));

        // Bounds: noise, not growth per cycle (a leak of one handle, thread or timer per cycle is 200).
        Assert.True(after.Handles <= before.Handles + 20, $"handles grew from {before.Handles} to {after.Handles}");
        Assert.True(after.Threads <= before.Threads + 10, $"threads grew from {before.Threads} to {after.Threads}");
        Assert.True(after.Timers <= before.Timers + 10, $"timers grew from {before.Timers} to {after.Timers}");
        Assert.True(after.Heap <= before.Heap * 2, $"the heap grew from {before.Heap} to {after.Heap} bytes");
    }

    private static async Task CycleAsync(MosquittoBroker broker, TcpProxy proxy, int i)
    {
        var viaProxy = i % 4 == 3;
        var connection = await ConnectAsync(viaProxy ? proxy.Address : broker.TcpAddress, NewClientId("r10"), persistentSession: false, TimeSpan.FromSeconds(5));
        try
        {
            var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using (await connection.SubscribeAsync("r10/" + i, (_, _, _) =>
            {
                arrived.TrySetResult();
                return Task.CompletedTask;
            }))
            {
                await connection.PublishAsync("r10/" + i, Sequence(i), MqttQos.AtLeastOnce);
                await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
            }

            if (viaProxy)
            {
                proxy.Reset();
                await Task.Delay(20);
            }
        }
        finally
        {
            await connection.DisposeAsync();
        }
    }

    private sealed record Resources(int Handles, int Threads, long Timers, long Heap)
    {
        public static async Task<Resources> MeasureAsync()
        {
            // Let disposed sockets, cancelled delays and finished workers settle before counting.
            await Task.Delay(1000);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            using var process = Process.GetCurrentProcess();
            return new Resources(
                Directory.GetFileSystemEntries("/proc/self/fd").Length,
                process.Threads.Count,
                Timer.ActiveCount,
                GC.GetTotalMemory(forceFullCollection: true));
        }
    }
}
