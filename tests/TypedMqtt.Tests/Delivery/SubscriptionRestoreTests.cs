using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using TypedMqtt.Tests.Infrastructure;
using Xunit.Abstractions;
using static TypedMqtt.Tests.Infrastructure.Outage;

namespace TypedMqtt.Tests.Delivery;

/// <summary>
/// A reconnect without a session: the broker has forgotten the connection's subscriptions, and the client subscribes
/// them again. The SUBSCRIBEs go out before anything queued during the outage (a publish to the connection's own topic,
/// or a request whose reply topic it subscribes, would otherwise reach the broker while nobody is subscribed and be
/// dropped), each filter once (a subscription declared while offline goes with the others, and its call awaits that
/// SUBSCRIBE: sent twice, the broker would deliver its retained messages twice), and all of them in one round trip, not
/// one each. <see cref="KeptSessionSubscriptionTests"/> has the reconnects to a kept session.
/// </summary>
public sealed class SubscriptionRestoreTests(ITestOutputHelper output)
{
    /// <summary>A connection through <paramref name="proxy"/>, clean start, reconnecting every 50-100 ms; a connect attempt gives up after 1 s.</summary>
    private static Task<MqttConnection> ConnectAsync(TcpProxy proxy, string clientId) =>
        FastReconnect.ConnectAsync($"{proxy.Address}?clientId={clientId}&connectTimeout=1");

    [Fact]
    public async Task Subscriptions_are_sent_again_before_what_was_queued_during_the_outage_and_each_filter_once()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var proxy = new TcpProxy(broker.Port);
        var id = "restore-" + Guid.NewGuid().ToString("N")[..8];
        var seen = BrokerLog.Record(broker, id);
        var qosSeen = new ConcurrentDictionary<string, int>();
        broker.Server.InterceptingSubscriptionAsync += e =>
        {
            qosSeen[e.TopicFilter.Topic] = (int)e.TopicFilter.QualityOfServiceLevel;
            return Task.CompletedTask;
        };

        await using var connection = await ConnectAsync(proxy, id);
        var (self, received, subscriptions) = await SubscribeOthersThenOwnAsync(connection, id);
        var upgrade = $"{id}/upgrade";
        subscriptions.Add(await connection.SubscribeAsync(upgrade, (_, _, _) => Task.CompletedTask));

        await GoOfflineAsync(proxy, connection);
        var late = connection.SubscribeAsync($"{id}/late", (_, _, _) => Task.CompletedTask);
        // A second handler on a filter the broker has, at a higher QoS: the filter's SUBSCRIBE must carry QoS 1, once.
        var upgrading = connection.SubscribeAsync(upgrade, (_, _, _) => Task.CompletedTask, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce });
        var published = new[] { "1", "2", "3" }.Select(text => connection.PublishAsync(self, Encoding.UTF8.GetBytes(text), MqttQos.AtLeastOnce)).ToArray();
        seen.Clear();
        await proxy.PassThrough();

        await Task.WhenAll(published).WaitAsync(Wait);
        await using var lateSubscription = await late.WaitAsync(Wait);
        subscriptions.Add(await upgrading.WaitAsync(Wait));
        await WaitUntilAsync(() => received.Count == 3, () => $"the three publishes queued during the outage reached the connection's own subscription (received [{string.Join(", ", received)}]; the broker saw [{string.Join(", ", seen)}])");
        Assert.Equal(["1", "2", "3"], received);
        await Task.Delay(500); // a second SUBSCRIBE of any filter would come within this

        var order = seen.ToList();
        output.WriteLine("the broker saw, after the reconnect: " + string.Join(", ", order));
        Assert.True(
            order.IndexOf("SUBSCRIBE " + self) is var subscribed and >= 0 && subscribed < order.IndexOf("PUBLISH " + self),
            $"the queued publish reached the broker before the subscription that receives it: [{string.Join(", ", order)}]");
        foreach (var filter in Enumerable.Range(0, 20).Select(i => $"{id}/other/{i}").Append(self).Append($"{id}/late").Append(upgrade))
        {
            Assert.True(order.Count(e => e == "SUBSCRIBE " + filter) == 1, $"'{filter}' was not subscribed exactly once after the reconnect: [{string.Join(", ", order)}]");
        }

        Assert.Equal(1, qosSeen[upgrade]);

        await DisposeAllAsync(subscriptions);
    }

    [Fact]
    public async Task Two_thousand_subscriptions_come_back_in_one_round_trip_not_one_each()
    {
        const int count = 2_000;
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var proxy = new TcpProxy(broker.Port);
        var id = "restore-" + Guid.NewGuid().ToString("N")[..8];
        var clock = Stopwatch.StartNew();
        var subscribedAt = new ConcurrentQueue<TimeSpan>();
        broker.Server.InterceptingSubscriptionAsync += e =>
        {
            if (e.ClientId == id)
            {
                subscribedAt.Enqueue(clock.Elapsed);
            }

            return Task.CompletedTask;
        };

        await using var connection = await ConnectAsync(proxy, id);
        var subscriptions = new List<MqttSubscription>();
        for (var i = 0; i < count; i++)
        {
            subscriptions.Add(await connection.SubscribeAsync($"{id}/{i}", (_, _, _) => Task.CompletedTask));
        }

        await GoOfflineAsync(proxy, connection);
        subscribedAt.Clear();
        await proxy.PassThrough();
        // 20 ms each way for every chunk: one SUBSCRIBE per round trip would take 2,000 x 40 ms = 80 s. (The attempt under
        // way when the black hole ends still times out after 1 s, so the next one meets the delay.)
        proxy.Delay = TimeSpan.FromMilliseconds(20);

        await WaitUntilAsync(() => subscribedAt.Count >= count, () => $"the broker saw {subscribedAt.Count} of {count} SUBSCRIBEs after the reconnect");
        var times = subscribedAt.ToArray();
        var spread = times.Max() - times.Min();
        Assert.True(spread < TimeSpan.FromSeconds(5), $"the {count} SUBSCRIBEs reached the broker over {spread.TotalMilliseconds:0} ms: one round trip each, not pipelined");
        Assert.True(connection.IsConnected);
        proxy.Delay = TimeSpan.Zero;
        await DisposeAllAsync(subscriptions);
    }

    /// <summary>
    /// A broker that answers none of the restored SUBSCRIBEs (scripted: its interceptor holds the first): the restore
    /// does not wait a request timeout per filter, one after another, but fails every filter left once no answer came
    /// for one request timeout (1 s here), and says so; the connection stays up.
    /// </summary>
    [Fact]
    public async Task A_restore_the_broker_never_answers_fails_every_filter_after_one_request_timeout()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var proxy = new TcpProxy(broker.Port);
        var id = "restore-" + Guid.NewGuid().ToString("N")[..8];
        var hold = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        broker.Server.InterceptingSubscriptionAsync += e => e.ClientId == id && Volatile.Read(ref hold) == 1 ? release.Task : Task.CompletedTask;

        await using var connection = await ConnectAsync(proxy, id);
        var subscriptions = new List<MqttSubscription>();
        for (var i = 0; i < 5; i++)
        {
            subscriptions.Add(await connection.SubscribeAsync($"{id}/{i}", (_, _, _) => Task.CompletedTask));
        }

        var clock = Stopwatch.StartNew();
        var connectedAt = TimeSpan.Zero;
        var failures = new ConcurrentQueue<(string Filter, string Message, TimeSpan At)>();
        connection.StateChanged += (_, e) =>
        {
            if (e.Current == MqttConnectionState.Connected)
            {
                connectedAt = clock.Elapsed;
            }
        };
        connection.SubscriptionFailed += (_, e) => failures.Enqueue((e.Filter, e.Exception.Message, clock.Elapsed));

        await GoOfflineAsync(proxy, connection);
        Volatile.Write(ref hold, 1);
        await proxy.PassThrough();
        try
        {
            await WaitUntilAsync(() => failures.Count == 5, () => $"{failures.Count} of 5 filters reported failed: [{string.Join("; ", failures)}]");
            Assert.All(failures, f => Assert.Contains("answered none of its SUBSCRIBEs for 1 s", f.Message, StringComparison.Ordinal));
            var last = failures.Max(f => f.At) - connectedAt;
            // One request timeout after another would end after 5 s.
            Assert.True(last < TimeSpan.FromSeconds(3.5), $"the last filter failed {last.TotalMilliseconds:0} ms after the reconnect: one timeout after another");
            Assert.True(connection.IsConnected);
        }
        finally
        {
            release.TrySetResult();
        }

        await DisposeAllAsync(subscriptions);
    }

    /// <summary>
    /// The link is lost while the broker holds the restored SUBSCRIBEs unanswered (scripted): nothing is reported as
    /// failed (the next link restores them), and on that next link the subscriptions deliver again.
    /// </summary>
    [Fact]
    public async Task A_link_lost_during_the_restore_reports_no_failure_and_the_next_link_restores()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var proxy = new TcpProxy(broker.Port);
        var id = "restore-" + Guid.NewGuid().ToString("N")[..8];
        var hold = 0;
        var held = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        broker.Server.InterceptingSubscriptionAsync += e =>
        {
            if (e.ClientId != id || Volatile.Read(ref hold) == 0)
            {
                return Task.CompletedTask;
            }

            Interlocked.Increment(ref held);
            return release.Task;
        };

        await using var connection = await ConnectAsync(proxy, id);
        var (self, received, subscriptions) = await SubscribeOthersThenOwnAsync(connection, id);
        var failures = new ConcurrentQueue<string>();
        connection.SubscriptionFailed += (_, e) => failures.Enqueue($"{e.Filter}: {e.Exception.Message}");

        await GoOfflineAsync(proxy, connection);
        Volatile.Write(ref hold, 1);
        await proxy.PassThrough();
        await WaitUntilAsync(() => Volatile.Read(ref held) > 0, () => "the broker received a restored SUBSCRIBE");
        Volatile.Write(ref hold, 0);
        proxy.Reset(); // the link is lost with every SUBSCRIBE unanswered
        release.TrySetResult();

        await WaitUntilAsync(() => connection.IsConnected && connection.Statistics.Reconnects >= 2, () => $"the connection reconnected twice ({connection.Statistics.Reconnects})");
        await connection.PublishAsync(self, "after"u8.ToArray(), MqttQos.AtLeastOnce);
        await WaitUntilAsync(() => received.Contains("after"), () => "a publish after the second reconnect reached the restored subscription");
        Assert.True(failures.IsEmpty, "a lost link was reported as failed subscriptions: " + string.Join("; ", failures));
        await DisposeAllAsync(subscriptions);
    }

    /// <summary>
    /// A host creates the connection, declares subscriptions and publishes before it opens it: the subscriptions are
    /// written first, so a publish to the connection's own topic reaches its handler.
    /// </summary>
    [Fact]
    public async Task Subscriptions_declared_before_OpenAsync_are_written_before_publishes_made_before_it()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        var id = "restore-" + Guid.NewGuid().ToString("N")[..8];
        await using var connection = MqttConnection.Create(MqttConnectionOptionsBuilder.FromAddress($"{broker.Address}?clientId={id}").Build());
        var subscribing = Enumerable.Range(0, 20).Select(i => connection.SubscribeAsync($"{id}/other/{i}", (_, _, _) => Task.CompletedTask)).ToList();
        var received = new ConcurrentQueue<string>();
        subscribing.Add(connection.SubscribeAsync($"{id}/self", (payload, _, _) =>
        {
            received.Enqueue(Encoding.UTF8.GetString(payload.Span));
            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce }));
        var published = new[] { "1", "2", "3" }.Select(text => connection.PublishAsync($"{id}/self", Encoding.UTF8.GetBytes(text), MqttQos.AtLeastOnce)).ToArray();

        await connection.OpenAsync();
        var subscriptions = (await Task.WhenAll(subscribing).WaitAsync(Wait)).ToList();
        await Task.WhenAll(published).WaitAsync(Wait);
        await WaitUntilAsync(() => received.Count == 3, () => $"the three publishes made before OpenAsync reached the subscription declared before them (received [{string.Join(", ", received)}])");
        Assert.Equal(["1", "2", "3"], received);
        await DisposeAllAsync(subscriptions);
    }

    /// <summary>
    /// Through a real Mosquitto, stopped and started again (it forgets a clean-start session): publishes to the
    /// connection's own topic, made while the broker was down, arrive once it is back, although twenty other filters are
    /// subscribed before it (restored one round trip at a time, the publishes would reach Mosquitto first).
    /// </summary>
    [MosquittoFact]
    public async Task Through_Mosquitto_publishes_made_while_it_was_down_reach_the_connections_own_subscription()
    {
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoSetup { PlainOnly = true });
        var id = "restore-" + Guid.NewGuid().ToString("N")[..8];
        await using var connection = await FastReconnect.ConnectAsync($"{broker.TcpAddress}?clientId={id}&connectTimeout=1");
        var (self, received, subscriptions) = await SubscribeOthersThenOwnAsync(connection, id);

        await broker.TerminateAsync();
        await WaitUntilAsync(() => !connection.IsConnected, () => "the connection noticed the broker's exit");
        var published = new[] { "1", "2", "3" }.Select(text => connection.PublishAsync(self, Encoding.UTF8.GetBytes(text), MqttQos.AtLeastOnce)).ToArray();
        await broker.StartAgainAsync();

        await Task.WhenAll(published).WaitAsync(Wait);
        await WaitUntilAsync(() => received.Count == 3, () => $"the three publishes queued while Mosquitto was down reached the connection's own subscription (received [{string.Join(", ", received)}])");
        Assert.Equal(["1", "2", "3"], received);
        await DisposeAllAsync(subscriptions);
    }

    /// <summary>
    /// Twenty filters, then the connection's own topic (QoS 1; what it receives goes to the queue returned): restored
    /// one round trip at a time in this order, publishes queued during an outage would reach the broker before it.
    /// </summary>
    private static async Task<(string Self, ConcurrentQueue<string> Received, List<MqttSubscription> Subscriptions)> SubscribeOthersThenOwnAsync(MqttConnection connection, string id)
    {
        var subscriptions = new List<MqttSubscription>();
        for (var i = 0; i < 20; i++)
        {
            subscriptions.Add(await connection.SubscribeAsync($"{id}/other/{i}", (_, _, _) => Task.CompletedTask));
        }

        var self = $"{id}/self";
        var received = new ConcurrentQueue<string>();
        subscriptions.Add(await connection.SubscribeAsync(self, (payload, _, _) =>
        {
            received.Enqueue(Encoding.UTF8.GetString(payload.Span));
            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce }));
        return (self, received, subscriptions);
    }

    private static async Task DisposeAllAsync(List<MqttSubscription> subscriptions)
    {
        foreach (var subscription in subscriptions)
        {
            await subscription.DisposeAsync();
        }
    }
}
