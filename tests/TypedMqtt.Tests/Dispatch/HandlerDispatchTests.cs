using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace TypedMqtt.Tests.Dispatch;

/// <summary>
/// Handlers run one message at a time and in order, whether they are called on the subscription's worker or, once they
/// have proved quick, directly on the receive path; a handler that later blocks its thread goes back to its worker.
/// </summary>
public sealed class HandlerDispatchTests
{
    private static readonly MqttSubscriptionOptions AtLeastOnce = new() { Qos = MqttQos.AtLeastOnce };

    [Fact]
    public async Task A_handler_that_is_sometimes_asynchronous_sees_every_message_once_in_order_and_never_twice_at_a_time()
    {
        const int Messages = 600;
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var subscriber = await MqttConnection.ConnectAsync(broker.Address);
        await using var publisher = await MqttConnection.ConnectAsync(broker.Address);

        var received = new ConcurrentQueue<int>();
        var concurrent = 0;
        var maxConcurrent = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await subscriber.SubscribeAsync("order/#", (payload, _, cancellationToken) =>
        {
            var now = Interlocked.Increment(ref concurrent);
            InterlockedMax(ref maxConcurrent, now);
            var value = int.Parse(Encoding.UTF8.GetString(payload.Span), System.Globalization.CultureInfo.InvariantCulture);
            if (value % 5 != 0)
            {
                // Mostly quick and synchronous (so the subscription is promoted to direct calls)...
                received.Enqueue(value);
                Interlocked.Decrement(ref concurrent);
                Done(value);
                return Task.CompletedTask;
            }

            // ...and every fifth call goes asynchronous, so the worker takes over mid-stream.
            return Slow(value, cancellationToken);
        }, AtLeastOnce);

        for (var i = 0; i < Messages; i++)
        {
            await publisher.PublishAsync("order/x", Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), MqttQos.AtLeastOnce);
        }

        await all.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Enumerable.Range(0, Messages), received);
        Assert.Equal(1, maxConcurrent);

        async Task Slow(int value, CancellationToken cancellationToken)
        {
            await Task.Delay(1, cancellationToken);
            received.Enqueue(value);
            Interlocked.Decrement(ref concurrent);
            Done(value);
        }

        void Done(int value)
        {
            if (value == Messages - 1)
            {
                all.TrySetResult();
            }
        }
    }

    [Fact]
    public async Task A_quick_handler_that_starts_blocking_its_thread_goes_back_to_its_worker_and_stops_holding_up_others()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var subscriber = await MqttConnection.ConnectAsync(broker.Address);
        await using var publisher = await MqttConnection.ConnectAsync(broker.Address);
        var clock = Stopwatch.StartNew();

        var blocks = 0;
        await using var turning = await subscriber.SubscribeAsync("turn/#", (payload, _, _) =>
        {
            if (payload.Span[0] == (byte)'b')
            {
                Interlocked.Increment(ref blocks);
                Thread.Sleep(TimeSpan.FromMilliseconds(1500)); // blocks its thread
            }

            return Task.CompletedTask;
        }, AtLeastOnce);

        var others = new ConcurrentQueue<TimeSpan>();
        await using var other = await subscriber.SubscribeAsync("other/#", (_, _, _) =>
        {
            others.Enqueue(clock.Elapsed);
            return Task.CompletedTask;
        }, AtLeastOnce);

        // Quick calls first: the subscription is promoted to direct calls on the receive path.
        for (var i = 0; i < 40; i++)
        {
            await publisher.PublishAsync("turn/x", "q"u8.ToArray(), MqttQos.AtLeastOnce);
        }

        // The first blocking call still runs directly (the price of the fast path): the receive path waits 1.5 s once.
        await publisher.PublishAsync("turn/x", "b"u8.ToArray(), MqttQos.AtLeastOnce);
        await WaitUntilAsync(() => Volatile.Read(ref blocks) == 1);
        await Task.Delay(1700);

        // From then on it is back on its worker: a second block must not hold up the other subscription.
        await publisher.PublishAsync("turn/x", "b"u8.ToArray(), MqttQos.AtLeastOnce);
        await WaitUntilAsync(() => Volatile.Read(ref blocks) == 2);
        var sent = clock.Elapsed;
        await publisher.PublishAsync("other/x", "o"u8.ToArray(), MqttQos.AtLeastOnce);
        await WaitUntilAsync(() => !others.IsEmpty);
        var delay = others.First() - sent;
        Assert.True(delay < TimeSpan.FromMilliseconds(1000), $"the other subscription waited {delay.TotalMilliseconds:0} ms behind the blocked handler");
    }

    /// <summary>
    /// Sync over async inside a handler that had proved quick: it blocks on its own connection's QoS 1 publish, whose
    /// PUBACK only the connection's read loop can deliver. That must not stall the connection (it would until keep alive
    /// ended it, 60 s), however the receive path is arranged: a guard for any change that runs handlers on the thread that
    /// reads the socket.
    /// </summary>
    [Fact]
    public async Task A_quick_handler_that_blocks_on_its_own_QoS_1_publish_does_not_stall_the_connection()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var connection = await MqttConnection.ConnectAsync(broker.Address);
        await using var publisher = await MqttConnection.ConnectAsync(broker.Address);
        var echoes = 0;
        await using var echo = await publisher.SubscribeAsync("sync/out", (_, _, _) =>
        {
            Interlocked.Increment(ref echoes);
            return Task.CompletedTask;
        }, AtLeastOnce);

        var handled = new ConcurrentQueue<byte>();
        var blockedFor = TimeSpan.Zero;
        await using var subscription = await connection.SubscribeAsync("sync/in", (payload, _, _) =>
        {
            if (payload.Span[0] == (byte)'b')
            {
                var started = Stopwatch.StartNew();
                // The point of the test: a handler that waits synchronously.
                connection.PublishAsync("sync/out", "e"u8.ToArray(), MqttQos.AtLeastOnce).GetAwaiter().GetResult();
                blockedFor = started.Elapsed;
            }

            handled.Enqueue(payload.Span[0]);
            return Task.CompletedTask;
        }, AtLeastOnce);

        // Quick calls first (promoted to direct calls), then the blocking one, then more.
        for (var i = 0; i < 40; i++)
        {
            await publisher.PublishAsync("sync/in", "q"u8.ToArray(), MqttQos.AtLeastOnce);
        }

        await publisher.PublishAsync("sync/in", "b"u8.ToArray(), MqttQos.AtLeastOnce);
        for (var i = 0; i < 5; i++)
        {
            await publisher.PublishAsync("sync/in", "q"u8.ToArray(), MqttQos.AtLeastOnce);
        }

        await WaitUntilAsync(() => handled.Count == 46 && Volatile.Read(ref echoes) == 1);
        Assert.True(blockedFor < TimeSpan.FromSeconds(5), $"the handler's own publish took {blockedFor.TotalMilliseconds:0} ms");
        Assert.Equal(MqttConnectionState.Connected, connection.State);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current && Interlocked.CompareExchange(ref target, value, current) is var seen && seen != current)
        {
            current = seen;
        }
    }
}
