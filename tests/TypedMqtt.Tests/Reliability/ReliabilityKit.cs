using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using TypedMqtt.Tests.Infrastructure;
using Xunit.Abstractions;

namespace TypedMqtt.Tests.Reliability;

/// <summary>
/// The fault-injection scenarios are timing-sensitive: they run one at a time, after the parallel collections.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReliabilityCollection
{
    public const string Name = "Reliability";
}

/// <summary>Shared pieces of the R1-R10 scenarios.</summary>
internal static class ReliabilityKit
{
    /// <summary>Quick reconnects so a restart costs a fraction of a second, with the backoff still visible.</summary>
    public static MqttReconnectOptions FastReconnect { get; } = new()
    {
        MinDelay = TimeSpan.FromMilliseconds(50),
        MaxDelay = TimeSpan.FromMilliseconds(500),
        Jitter = 0.25,
    };

    /// <summary>
    /// A plain-TCP Mosquitto that keeps sessions and queued messages across a SIGTERM restart: persistence with a
    /// one-second autosave, no limit on messages queued per client (the default of 1,000 would drop messages of a
    /// subscriber that is offline during a restart, which is not what these tests measure).
    /// </summary>
    /// <param name="extra">More global configuration lines.</param>
    /// <returns>The setup.</returns>
    public static MosquittoSetup PersistentBroker(string extra = "") => new()
    {
        PlainOnly = true,
        GlobalConfig = "autosave_interval 1\nautosave_on_changes false\nmax_queued_messages 0\n" + extra,
    };

    public static string NewClientId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    public static Task<MqttConnection> ConnectAsync(
        string address,
        string clientId,
        bool persistentSession,
        TimeSpan? keepAlive = null,
        Func<MqttConnectionOptions, MqttConnectionOptions>? configure = null)
    {
        var builder = MqttConnectionOptionsBuilder.FromAddress(address)
            .WithClientId(clientId)
            .WithKeepAlive(keepAlive ?? TimeSpan.FromSeconds(10))
            .WithCleanStart(!persistentSession);
        if (persistentSession)
        {
            builder = builder.WithSessionExpiry(3600);
        }

        builder = builder.Configure(o => o with { Reconnect = FastReconnect });
        if (configure is not null)
        {
            builder = builder.Configure(configure);
        }

        return MqttConnection.ConnectAsync(builder.Build());
    }

    public static byte[] Sequence(int value)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(payload, value);
        return payload;
    }

    public static int ReadSequence(ReadOnlySpan<byte> payload) => BinaryPrimitives.ReadInt32LittleEndian(payload);

    /// <summary>Counts how often each sequence number arrived.</summary>
    public static Task<MqttSubscription> CountIntoAsync(MqttConnection connection, string filter, MqttQos qos, int[] counts) =>
        connection.SubscribeAsync(
            filter,
            (payload, _, _) =>
            {
                var sequence = ReadSequence(payload.Span);
                if ((uint)sequence < (uint)counts.Length)
                {
                    Interlocked.Increment(ref counts[sequence]);
                }

                return Task.CompletedTask;
            },
            MqttSubscriptionOptions.Default with { Qos = qos });

    /// <summary>
    /// Publishes <paramref name="count"/> sequence-numbered messages with at most <paramref name="window"/> publishes
    /// awaiting completion, and runs the faults one after another at evenly spaced points of the flow.
    /// </summary>
    public static Task<FlowReport> PublishUnderFaultsAsync(
        MqttConnection publisher,
        string topic,
        int count,
        MqttQos qos,
        int window,
        IReadOnlyList<Func<Task>> faults,
        TimeSpan timeout,
        params MqttConnection[] mustBeConnectedBeforeEachFault) =>
        PublishUnderFaultsAsync(publisher, _ => topic, count, qos, window, faults, timeout, mustBeConnectedBeforeEachFault);

    /// <summary>As above, each message to the topic <paramref name="topicFor"/> gives its sequence number.</summary>
    public static async Task<FlowReport> PublishUnderFaultsAsync(
        MqttConnection publisher,
        Func<int, string> topicFor,
        int count,
        MqttQos qos,
        int window,
        IReadOnlyList<Func<Task>> faults,
        TimeSpan timeout,
        params MqttConnection[] mustBeConnectedBeforeEachFault)
    {
        var succeeded = new bool[count];
        var failures = new ConcurrentQueue<Exception>();
        var gate = new SemaphoreSlim(window, window);
        var started = 0;
        var completed = 0;
        var clock = Stopwatch.StartNew();
        using var deadline = new CancellationTokenSource(timeout);

        var faultTimes = new List<TimeSpan>();
        var faultLoop = Task.Run(async () =>
        {
            for (var k = 0; k < faults.Count; k++)
            {
                var threshold = (long)count * (k + 1) / (faults.Count + 1);
                while (Volatile.Read(ref started) < threshold && !deadline.IsCancellationRequested)
                {
                    await Task.Delay(5);
                }

                // A fault hits a connected flow, not a client still recovering from the previous one.
                while (mustBeConnectedBeforeEachFault.Any(c => !c.IsConnected) && !deadline.IsCancellationRequested)
                {
                    await Task.Delay(5);
                }

                if (deadline.IsCancellationRequested)
                {
                    return;
                }

                faultTimes.Add(clock.Elapsed);
                await faults[k]();
            }
        });

        var stalled = false;
        for (var i = 0; i < count; i++)
        {
            try
            {
                await gate.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                stalled = true;
                break;
            }

            Volatile.Write(ref started, i + 1);
            var sequence = i;
            Task publish;
            try
            {
                publish = publisher.PublishAsync(topicFor(sequence), Sequence(sequence), qos);
            }
#pragma warning disable CA1031 // A synchronous failure is a failed publish like any other: counted and reported.
            catch (Exception e)
#pragma warning restore CA1031
            {
                publish = Task.FromException(e);
            }

            _ = publish.ContinueWith(
                t =>
                {
                    if (t.IsCompletedSuccessfully)
                    {
                        succeeded[sequence] = true;
                    }
                    else
                    {
                        failures.Enqueue(t.Exception?.GetBaseException() ?? new OperationCanceledException());
                    }

                    Interlocked.Increment(ref completed);
                    gate.Release();
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        // Drain: every publish started must complete (successfully or not) before the deadline.
        while (Volatile.Read(ref completed) < Volatile.Read(ref started) && !deadline.IsCancellationRequested)
        {
            await Task.Delay(20);
        }

        var publishTime = clock.Elapsed;
        await faultLoop.WaitAsync(TimeSpan.FromSeconds(30));
        return new FlowReport(
            count,
            Volatile.Read(ref started),
            Volatile.Read(ref completed),
            succeeded,
            [.. failures],
            stalled || Volatile.Read(ref completed) < Volatile.Read(ref started),
            publishTime,
            faultTimes);
    }

    /// <summary>Waits until every succeeded sequence number arrived at least once, or the time is up.</summary>
    public static async Task<DeliveryReport> AwaitDeliveryAsync(FlowReport flow, int[] counts, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var report = DeliveryReport.Of(flow, counts);
            if (report.Lost == 0 || clock.Elapsed > timeout)
            {
                // Let late duplicates land before counting them.
                await Task.Delay(300);
                return DeliveryReport.Of(flow, counts);
            }

            await Task.Delay(50);
        }
    }

    public static void Print(ITestOutputHelper output, string scenario, params (string Name, object? Value)[] figures)
    {
        var line = string.Join("; ", figures.Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Name}={f.Value}")));
        output.WriteLine($"{scenario}: {line}");
    }

    public static string Stats(MqttConnection connection)
    {
        var s = connection.Statistics;
        return $"completed {s.Completed}, resent {s.Resent}, queued {s.Queued}, dropped {s.Dropped}, rejected {s.Rejected}, " +
            $"max in flight {s.MaxInFlight}, reconnects {s.Reconnects}, dead connections detected {s.DeadConnectionsDetected}, queue length {s.QueueLength}";
    }

    /// <summary>The last lines of the broker log about connections ending, for the test output.</summary>
    public static string BrokerDisconnects(MosquittoBroker broker, int lines = 15)
    {
        var relevant = broker.Log.Split('\n')
            .Where(l => l.Contains("disconnect", StringComparison.OrdinalIgnoreCase) || l.Contains("closed", StringComparison.OrdinalIgnoreCase)
                || l.Contains("error", StringComparison.OrdinalIgnoreCase) || l.Contains("protocol", StringComparison.OrdinalIgnoreCase))
            .ToList();
        return string.Join("\n", relevant.TakeLast(lines));
    }

    public static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms";

    public static string FirstFailure(IReadOnlyList<Exception> failures) =>
        failures.Count == 0 ? "(none)" : $"{failures[0].GetType().Name}: {failures[0].Message}";
}

/// <summary>What a publishing run achieved.</summary>
internal sealed record FlowReport(
    int Requested,
    int Started,
    int Completed,
    bool[] Succeeded,
    IReadOnlyList<Exception> Failures,
    bool Stalled,
    TimeSpan Elapsed,
    IReadOnlyList<TimeSpan> FaultTimes)
{
    public int SucceededCount => Succeeded.Count(s => s);
}

/// <summary>What the subscriber saw of a publishing run.</summary>
internal sealed record DeliveryReport(int Received, int Lost, long Duplicates, int UnconfirmedButReceived)
{
    public static DeliveryReport Of(FlowReport flow, int[] counts)
    {
        var received = 0;
        var lost = 0;
        long duplicates = 0;
        var extra = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            var c = Volatile.Read(ref counts[i]);
            if (c > 0)
            {
                received++;
                duplicates += c - 1;
                if (!flow.Succeeded[i])
                {
                    extra++;
                }
            }
            else if (flow.Succeeded[i])
            {
                lost++;
            }
        }

        return new DeliveryReport(received, lost, duplicates, extra);
    }
}
