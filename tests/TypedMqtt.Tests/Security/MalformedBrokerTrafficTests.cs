using System.Collections.Concurrent;
using TypedMqtt.Tests.Infrastructure;
using Xunit.Abstractions;

namespace TypedMqtt.Tests.Security;

/// <summary>Counts across the rows of the table (both test classes), for the summary line each row prints.</summary>
public static class MalformedTally
{
    private static int _tried;
    private static int _crashes;
    private static int _hangs;
    private static int _failed;

    public static string Add(bool crashed, bool hung, bool failed)
    {
        Interlocked.Increment(ref _tried);
        if (crashed)
        {
            Interlocked.Increment(ref _crashes);
        }

        if (hung)
        {
            Interlocked.Increment(ref _hangs);
        }

        if (failed)
        {
            Interlocked.Increment(ref _failed);
        }

        return $"so far: sequences tried {_tried} of {MalformedScenarios.All.Count}, crashes {_crashes}, hangs {_hangs}, rows not as required {_failed}";
    }
}

/// <summary>
/// Issue 5, item 5: a scripted fake broker sends malformed and hostile packet sequences. For each row: no crash, no
/// call that hangs past 5 s, the connection closed or the packet rejected, the client says why, and the reconnect
/// policy applies. Every row passes: the runtime checks what it receives itself (Wire/InboundPacketValidator).
/// </summary>
public sealed class MalformedBrokerTrafficTests(ITestOutputHelper output)
{
    public static TheoryData<string> Conforming() => MalformedRunner.Rows(streams: false);

    [Fact]
    public void Table_has_at_least_40_sequences()
    {
        var all = MalformedScenarios.All;
        output.WriteLine($"{all.Count} sequences: {all.Count(s => s.V5)} MQTT 5, {all.Count(s => !s.V5)} MQTT 3.1.1; " +
                         string.Join(", ", all.GroupBy(s => s.Expect).Select(g => $"{g.Key} {g.Count()}")));
        Assert.True(all.Count >= 40, $"only {all.Count} sequences");
        Assert.Equal(all.Count, all.Select(s => s.Name).Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [MemberData(nameof(Conforming))]
    public Task Malformed_sequence_is_survived_and_reported(string scenario) => MalformedRunner.RunAsync(MalformedScenarios.Get(scenario), output);
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasuringCollection
{
    public const string Name = "Memory measuring (runs alone)";
}

/// <summary>
/// The endless-stream rows: besides the usual checks, the managed heap must not grow with what the broker streams. They
/// run alone (a collection without parallelization), so the heap measured is this row's.
/// </summary>
[Collection(MemoryMeasuringCollection.Name)]
public sealed class MalformedBrokerStreamTests(ITestOutputHelper output)
{
    public static TheoryData<string> Conforming() => MalformedRunner.Rows(streams: true);

    [Theory]
    [MemberData(nameof(Conforming))]
    public Task Endless_stream_is_survived_in_bounded_memory(string scenario) => MalformedRunner.RunAsync(MalformedScenarios.Get(scenario), output);
}

/// <summary>Runs one row of the table and checks the outcome.</summary>
internal static class MalformedRunner
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    /// <summary>How long a protocol error may take to close the connection (it takes milliseconds when it does).</summary>
    private static readonly TimeSpan DropWithin = TimeSpan.FromSeconds(3);

    public static TheoryData<string> Rows(bool streams)
    {
        var data = new TheoryData<string>();
        foreach (var scenario in MalformedScenarios.All.Where(s => s.Streams == streams))
        {
            data.Add(scenario.Name);
        }

        return data;
    }

    public static async Task RunAsync(MalformedScenario scenario, ITestOutputHelper output)
    {
        var run = new Run(scenario);
        await run.ExecuteAsync();
        var summary = MalformedTally.Add(run.Crashed, run.Hung, run.Problems.Count > 0);
        output.WriteLine($"[{scenario.Name}] {scenario.Spec}");
        output.WriteLine("observed: " + run.Observed);
        foreach (var problem in run.Problems)
        {
            output.WriteLine("PROBLEM: " + problem);
        }

        output.WriteLine(summary);
        Assert.True(run.Problems.Count == 0, $"{scenario.Name}: {string.Join(" | ", run.Problems)}\nobserved: {run.Observed}");
    }

    /// <summary>One execution of one row and everything observed about it.</summary>
    private sealed class Run(MalformedScenario scenario)
    {
        private readonly ConcurrentQueue<string> _events = new();
        private readonly ConcurrentQueue<MqttConnectionStateChangedEventArgs> _states = new();
        private readonly ConcurrentQueue<MqttMessageErrorEventArgs> _failures = new();
        private readonly ConcurrentQueue<string> _delivered = new();

        public List<string> Problems { get; } = [];

        public bool Crashed { get; private set; }

        public bool Hung { get; private set; }

        public string Observed => string.Join("; ", _events);

        public async Task ExecuteAsync()
        {
            var unobserved = 0;
            EventHandler<UnobservedTaskExceptionEventArgs> onUnobserved = (_, e) =>
            {
                if (e.Exception.InnerExceptions.Any(IsCrash))
                {
                    Interlocked.Increment(ref unobserved);
                }
            };
            TaskScheduler.UnobservedTaskException += onUnobserved;
            long peakHeap = 0;
            var baseline = GC.GetTotalMemory(scenario.Streams);
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(false) - baseline);
                    await Task.Delay(20);
                }
            });

            await using var broker = new ScriptedBroker(scenario.Script);
            try
            {
                await ExecuteAsync(broker);
            }
            finally
            {
                await sampling.CancelAsync();
                await sampler;
                TaskScheduler.UnobservedTaskException -= onUnobserved;
            }

            var sent = broker.Sessions.Sum(s => s.BytesSent);
            Note($"broker connections {broker.Connections}, bytes sent {sent:N0}" + (scenario.Streams ? $", peak managed heap growth {peakHeap / (1024 * 1024)} MB" : string.Empty));
            if (broker.ScriptError is { } scriptError)
            {
                Problems.Add("the test script itself failed: " + scriptError.Message);
            }

            // Unbounded buffering shows as heap growth that follows the bytes streamed at the client.
            if (scenario.Streams && peakHeap > 128L * 1024 * 1024)
            {
                Problems.Add($"managed heap grew by {peakHeap / (1024 * 1024)} MB while the broker sent {sent / (1024 * 1024)} MB: the client buffers hostile input without bound");
            }

            if (unobserved > 0)
            {
                Crashed = true;
                Problems.Add($"{unobserved} unobserved task exception(s) of a crash type");
            }
        }

        private async Task ExecuteAsync(ScriptedBroker broker)
        {
            var options = MqttConnectionOptions.Parse($"mqtt://127.0.0.1:{broker.Port}?clientId=hostile-{Guid.NewGuid():N}"[..48]) with
            {
                ProtocolVersion = scenario.Version,
                ConnectTimeout = TimeSpan.FromSeconds(2),
                KeepAlive = TimeSpan.FromSeconds(1),
                Reconnect = new MqttReconnectOptions { MinDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromMilliseconds(300), Jitter = 0 },
                MaximumPacketSize = scenario.V5 ? MalformedScenarios.OurMaximumPacketSize : null,
                TopicAliasMaximum = scenario.V5 ? (ushort)MalformedScenarios.OurTopicAliasMaximum : null,
            };

            var (connection, connectError) = await BoundedAsync("ConnectAsync", () => MqttConnection.ConnectAsync(options));
            if (scenario.Expect == Expect.ConnectFails)
            {
                if (connection is not null)
                {
                    Problems.Add("connected although the server never sent a valid CONNACK first");
                    await DisposeBoundedAsync(connection);
                    return;
                }

                if (connectError is MqttConnectException refused)
                {
                    Note($"ConnectAsync threw MqttConnectException {refused.Failure}: {refused.Message}");
                    if (string.IsNullOrWhiteSpace(refused.Message))
                    {
                        Problems.Add("the connect failure does not say why");
                    }
                }
                else if (connectError is not null && !Hung)
                {
                    Problems.Add($"ConnectAsync threw {connectError.GetType().Name} instead of MqttConnectException: {connectError.Message}");
                }

                return;
            }

            if (connection is null)
            {
                Problems.Add($"could not connect to the scripted broker: {connectError?.Message}");
                return;
            }

            try
            {
                await AfterConnackAsync(connection, broker);
            }
            finally
            {
                await DisposeBoundedAsync(connection);
            }
        }

        private async Task AfterConnackAsync(MqttConnection connection, ScriptedBroker broker)
        {
            connection.StateChanged += (_, e) =>
            {
                _states.Enqueue(e);
                Note($"state {e.Current}: {e.Reason}");
            };
            connection.MessageFailed += (_, e) =>
            {
                _failures.Enqueue(e);
                Note($"MessageFailed at {e.Stage} on '{Printable(e.Topic)}': {e.Exception.Message}");
            };

            var (subscription, subscribeError) = await BoundedAsync("SubscribeAsync", () => connection.SubscribeAsync(
                MalformedScenarios.SubscribedFilter,
                (_, context, _) =>
                {
                    _delivered.Enqueue(context.Topic);
                    Note($"DELIVERED to the handler: topic '{Printable(context.Topic)}' QoS {(int)context.Qos}");
                    return Task.CompletedTask;
                }));
            if (subscribeError is not null)
            {
                Note($"SubscribeAsync threw {subscribeError.GetType().Name}: {subscribeError.Message}");
            }

            switch (scenario.Expect)
            {
                case Expect.SubscribeFails:
                    if (subscription is not null && !await DroppedAsync(TimeSpan.FromMilliseconds(500)))
                    {
                        Problems.Add("SubscribeAsync succeeded on an invalid SUBACK and the connection stayed up: the bad answer was accepted silently");
                    }

                    if (subscribeError is not null && subscribeError is not MqttOperationException && !Hung)
                    {
                        Problems.Add($"SubscribeAsync threw {subscribeError.GetType().Name} instead of MqttOperationException");
                    }

                    break;

                case Expect.Dropped:
                    if (subscription is null)
                    {
                        Problems.Add("the subscription before the hostile packet failed");
                    }

                    if (!await DroppedAsync(DropWithin))
                    {
                        Problems.Add($"the connection was not closed (no StateChanged to Disconnected within {DropWithin.TotalSeconds} s)");
                    }
                    else
                    {
                        await RequireReconnectAsync(connection, broker);
                    }

                    break;

                case Expect.Rejected:
                    // Either MessageFailed or a reported drop; wait for the first sign of either (or of a delivery).
                    var dropped = await DroppedAsync(TimeSpan.FromSeconds(1), orWhen: () => !_failures.IsEmpty || !_delivered.IsEmpty);
                    if (!_delivered.IsEmpty)
                    {
                        Problems.Add("the malformed PUBLISH reached the handler (topic '" + Printable(_delivered.First()) + "')");
                    }

                    if (!dropped && _failures.IsEmpty)
                    {
                        Problems.Add("the malformed PUBLISH was neither reported (MessageFailed) nor did it close the connection: dropped or accepted silently");
                    }

                    if (dropped)
                    {
                        await RequireReconnectAsync(connection, broker);
                    }

                    break;

                case Expect.Survives:
                    await Task.Delay(300);
                    if (await DroppedAsync(TimeSpan.Zero))
                    {
                        await RequireReconnectAsync(connection, broker);
                    }

                    var (_, publishError) = await BoundedAsync("PublishAsync after the stray packet", async () =>
                    {
                        await connection.PublishAsync("probe/after", "x"u8.ToArray(), MqttQos.AtLeastOnce);
                        return string.Empty;
                    });
                    if (publishError is not null)
                    {
                        Problems.Add($"the connection no longer works after the stray packet: {publishError.Message}");
                    }

                    break;
            }

            foreach (var state in _states.Where(s => s.Current == MqttConnectionState.Disconnected && string.IsNullOrWhiteSpace(s.Reason)))
            {
                Problems.Add("a Disconnected state change without a reason");
            }

            if (subscription is not null)
            {
                await BoundedAsync("subscription.DisposeAsync", async () =>
                {
                    await subscription.DisposeAsync();
                    return string.Empty;
                });
            }
        }

        private async Task<bool> DroppedAsync(TimeSpan within, Func<bool>? orWhen = null)
        {
            var deadline = Environment.TickCount64 + (long)within.TotalMilliseconds;
            while (true)
            {
                if (_states.Any(s => s.Current == MqttConnectionState.Disconnected))
                {
                    return true;
                }

                if (Environment.TickCount64 >= deadline || orWhen?.Invoke() == true)
                {
                    return false;
                }

                await Task.Delay(20);
            }
        }

        private async Task RequireReconnectAsync(MqttConnection connection, ScriptedBroker broker)
        {
            var deadline = Environment.TickCount64 + (long)Bound.TotalMilliseconds;
            while (connection.State != MqttConnectionState.Connected || connection.ReconnectAttempts < 1 || broker.Connections < 2)
            {
                if (Environment.TickCount64 >= deadline)
                {
                    Problems.Add($"no reconnect within 5 s after the drop (ReconnectAttempts {connection.ReconnectAttempts}, broker connections {broker.Connections}, state {connection.State})");
                    return;
                }

                await Task.Delay(20);
            }

            Note($"reconnected (ReconnectAttempts {connection.ReconnectAttempts})");
        }

        private async Task DisposeBoundedAsync(MqttConnection connection) =>
            await BoundedAsync("DisposeAsync", async () =>
            {
                await connection.DisposeAsync();
                return string.Empty;
            });

        /// <summary>Runs a call with the 5 s bound; records a hang or a crash-type exception.</summary>
        private async Task<(T? Result, Exception? Error)> BoundedAsync<T>(string what, Func<Task<T>> call)
            where T : class
        {
            Task<T> task;
            try
            {
                task = call();
            }
#pragma warning disable CA1031 // Every outcome is an observation here.
            catch (Exception e)
#pragma warning restore CA1031
            {
                return (null, Classify(what, e));
            }

            try
            {
                return (await task.WaitAsync(Bound), null);
            }
            catch (TimeoutException e)
            {
                Hung = true;
                Problems.Add($"{what} did not complete within {Bound.TotalSeconds} s (hang)");
                _ = task.ContinueWith(t => t.Exception, TaskScheduler.Default);
                return (null, e);
            }
#pragma warning disable CA1031
            catch (Exception e)
#pragma warning restore CA1031
            {
                return (null, Classify(what, e));
            }
        }

        private Exception Classify(string what, Exception e)
        {
            if (IsCrash(e))
            {
                // The call failed with a bug-type exception; the process survived it, so it is not counted as a crash.
                Problems.Add($"{what} let a {e.GetType().Name} escape (an internal error, not a TypedMqtt exception): {e.Message}");
            }

            return e;
        }

        private static bool IsCrash(Exception e) =>
            e is NullReferenceException or IndexOutOfRangeException or ArgumentOutOfRangeException or InvalidCastException
                or OutOfMemoryException or StackOverflowException or AccessViolationException or OverflowException;

        private void Note(string text) => _events.Enqueue(text);

        private static string Printable(string value) => Topics.TopicRules.Printable(value);
    }
}
