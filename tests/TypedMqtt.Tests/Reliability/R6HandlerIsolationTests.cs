using System.Collections.Concurrent;
using System.Diagnostics;
using TypedMqtt.Tests.Infrastructure;
using Xunit.Abstractions;
using static TypedMqtt.Tests.Reliability.ReliabilityKit;

namespace TypedMqtt.Tests.Reliability;

/// <summary>
/// R6: a handler that blocks its thread for 10 s, a handler that throws on every message, and a handler that publishes
/// QoS 1 on the same connection for each of 1,000 messages. With keep alive 2 s the connection must stay up throughout,
/// the other subscriptions must keep flowing while the one handler is blocked, and all 1,000 inner publishes complete.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class R6HandlerIsolationTests(ITestOutputHelper output)
{
    private const int Inner = 1_000;
    private const int Flow = 100;
    private static readonly TimeSpan Block = TimeSpan.FromSeconds(10);

    [MosquittoFact]
    public async Task R6_blocking_throwing_and_publishing_handlers_do_not_disturb_the_connection()
    {
        await using var broker = await MosquittoBroker.StartAsync(PersistentBroker());
        await using var connection = await ConnectAsync(broker.TcpAddress, NewClientId("r6-sub"), persistentSession: false, TimeSpan.FromSeconds(2));
        await using var publisher = await ConnectAsync(broker.TcpAddress, NewClientId("r6-pub"), persistentSession: false);
        var clock = Stopwatch.StartNew();
        var stateChanges = new ConcurrentQueue<string>();
        connection.StateChanged += (_, e) => stateChanges.Enqueue($"{Ms(clock.Elapsed)} {e.Current}: {e.Reason}");
        var failures = new ConcurrentQueue<MqttMessageErrorEventArgs>();
        connection.MessageFailed += (_, e) => failures.Enqueue(e);
        var atLeastOnce = MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce };

        var blockStarted = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var blockEnded = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var blockCalls = 0;
        await using var blocking = await connection.SubscribeAsync(
            "r6/block",
            (_, _, _) =>
            {
                if (Interlocked.Increment(ref blockCalls) == 1)
                {
                    blockStarted.TrySetResult(clock.Elapsed);
                    Thread.Sleep(Block); // a handler that really blocks its thread
                    blockEnded.TrySetResult(clock.Elapsed);
                }

                return Task.CompletedTask;
            },
            atLeastOnce);

        var throwCalls = 0;
        await using var throwing = await connection.SubscribeAsync(
            "r6/throw",
            (_, _, _) =>
            {
                Interlocked.Increment(ref throwCalls);
                throw new InvalidOperationException("handler failure on purpose");
            },
            atLeastOnce);

        var flowTimes = new ConcurrentQueue<TimeSpan>();
        await using var flowing = await connection.SubscribeAsync(
            "r6/flow",
            (_, _, _) =>
            {
                flowTimes.Enqueue(clock.Elapsed);
                return Task.CompletedTask;
            },
            atLeastOnce);

        var innerCompleted = 0;
        var innerFailed = new ConcurrentQueue<Exception>();
        var innerLastCompletedAt = TimeSpan.Zero;
        await using var publishing = await connection.SubscribeAsync(
            "r6/inner",
            async (payload, _, cancellationToken) =>
            {
                try
                {
                    await connection.PublishAsync("r6/echo", payload.ToArray(), MqttQos.AtLeastOnce, cancellationToken: cancellationToken);
                    Interlocked.Increment(ref innerCompleted);
                    innerLastCompletedAt = clock.Elapsed;
                }
                catch (Exception e) when (e is MqttOperationException or OperationCanceledException)
                {
                    innerFailed.Enqueue(e);
                }
            },
            atLeastOnce);

        var echoes = new int[Inner];
        await using var echo = await CountIntoAsync(publisher, "r6/echo", MqttQos.AtLeastOnce, echoes);

        // 1. Block one handler.
        await publisher.PublishAsync("r6/block", Sequence(0), MqttQos.AtLeastOnce);
        var blockedAt = await blockStarted.Task.WaitAsync(TimeSpan.FromSeconds(5));

        // 2. Throwing handler, 10 times.
        for (var i = 0; i < 10; i++)
        {
            await publisher.PublishAsync("r6/throw", Sequence(i), MqttQos.AtLeastOnce);
        }

        // 3. 1,000 messages whose handler publishes QoS 1 on the same connection, and 4. a flow on another subscription.
        var innerSends = Enumerable.Range(0, Inner).Select(i => publisher.PublishAsync("r6/inner", Sequence(i), MqttQos.AtLeastOnce)).ToList();
        for (var i = 0; i < Flow; i++)
        {
            await publisher.PublishAsync("r6/flow", Sequence(i), MqttQos.AtLeastOnce);
            await Task.Delay(20);
        }

        await Task.WhenAll(innerSends).WaitAsync(TimeSpan.FromSeconds(20));
        var flowDeadline = Stopwatch.StartNew();
        while ((flowTimes.Count < Flow || Volatile.Read(ref innerCompleted) + innerFailed.Count < Inner) && flowDeadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(20);
        }

        var unblockedAt = await blockEnded.Task.WaitAsync(TimeSpan.FromSeconds(20));

        // The blocked subscription resumes, and the throwing one still calls its handler.
        await publisher.PublishAsync("r6/block", Sequence(1), MqttQos.AtLeastOnce);
        await publisher.PublishAsync("r6/throw", Sequence(10), MqttQos.AtLeastOnce);
        var tail = Stopwatch.StartNew();
        while ((Volatile.Read(ref blockCalls) < 2 || Volatile.Read(ref throwCalls) < 11 || echoes.Count(c => c > 0) < Volatile.Read(ref innerCompleted)) && tail.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        var flowDuringBlock = flowTimes.Count(t => t < unblockedAt);
        var disconnects = stateChanges.Count(s => !s.Contains(" Connected:", StringComparison.Ordinal));
        Print(output, "R6",
            ("handler blocked", Ms(unblockedAt - blockedAt)), ("flow messages received", flowTimes.Count), ("of them while blocked", flowDuringBlock),
            ("inner QoS 1 publishes completed", Volatile.Read(ref innerCompleted)), ("inner publishes failed", innerFailed.Count),
            ("last inner completion", Ms(innerLastCompletedAt)), ("unblocked at", Ms(unblockedAt)), ("echoes received", echoes.Count(c => c > 0)),
            ("throwing handler calls", Volatile.Read(ref throwCalls)), ("MessageFailed events", failures.Count), ("blocked handler calls", Volatile.Read(ref blockCalls)),
            ("state changes", disconnects), ("connected at end", connection.IsConnected));
        foreach (var change in stateChanges)
        {
            output.WriteLine("R6: state change " + change);
        }

        Assert.True(disconnects == 0, "the connection changed state: " + string.Join("; ", stateChanges));
        Assert.True(connection.IsConnected);
        Assert.Equal(Flow, flowDuringBlock);
        Assert.True(innerFailed.IsEmpty, $"{innerFailed.Count} inner publishes failed; first: {FirstFailure([.. innerFailed])}");
        Assert.Equal(Inner, Volatile.Read(ref innerCompleted));
        Assert.Equal(Inner, echoes.Count(c => c > 0));
        Assert.Equal(11, Volatile.Read(ref throwCalls));
        Assert.True(failures.Count >= 11, $"{failures.Count} MessageFailed events for 11 handler exceptions");
        Assert.Equal(2, Volatile.Read(ref blockCalls));
    }
}
