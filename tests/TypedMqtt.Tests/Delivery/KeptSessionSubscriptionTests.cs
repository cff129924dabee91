using System.Collections.Concurrent;
using System.Text;
using MQTTnet.Protocol;
using TypedMqtt.Tests.Infrastructure;
using static TypedMqtt.Tests.Infrastructure.Outage;

namespace TypedMqtt.Tests.Delivery;

/// <summary>
/// A reconnect to a kept session: the broker still holds the subscriptions the session confirmed, and lacks what changed
/// while the connection was down. Subscriptions declared offline are sent before anything queued meanwhile (a publish to
/// them would otherwise reach the broker first and be dropped), and subscriptions disposed offline are unsubscribed (the
/// broker would otherwise keep sending them for the life of the session). Also: a refused SUBSCRIBE is reported once,
/// to the call still waiting for it, not also as <see cref="MqttConnection.SubscriptionFailed"/>.
/// </summary>
public sealed class KeptSessionSubscriptionTests
{
    /// <summary>Through <paramref name="proxy"/>, a session kept for an hour, reconnecting every 50-100 ms; a connect attempt gives up after 1 s.</summary>
    private static Task<MqttConnection> ConnectKeptAsync(TcpProxy proxy, string clientId) =>
        FastReconnect.ConnectAsync($"{proxy.Address}?clientId={clientId}&connectTimeout=1&cleanStart=false&sessionExpiry=3600");

    [Fact]
    public async Task On_a_kept_session_a_subscription_declared_offline_is_sent_before_what_was_queued_and_an_offline_unsubscribe_is_sent()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var proxy = new TcpProxy(broker.Port);
        var id = "kept-" + Guid.NewGuid().ToString("N")[..8];
        var seen = BrokerLog.Record(broker, id);

        await using var connection = await ConnectKeptAsync(proxy, id);
        var states = new ConcurrentQueue<string>();
        connection.StateChanged += (_, e) => states.Enqueue(e.Reason);
        var kept = await connection.SubscribeAsync($"{id}/kept", (_, _, _) => Task.CompletedTask);
        var dropped = await connection.SubscribeAsync($"{id}/dropped", (_, _, _) => Task.CompletedTask);

        var (self, received, subscribing, published) = await ChangeWhileOfflineAsync(proxy, connection, id, dropped);
        seen.Clear();
        await proxy.PassThrough();

        await using var subscription = await subscribing.WaitAsync(Wait);
        await Task.WhenAll(published).WaitAsync(Wait);
        await WaitUntilAsync(() => received.Count == 3, () => $"the three publishes queued while offline reached the subscription declared before them (received [{string.Join(", ", received)}]; the broker saw [{string.Join(", ", seen)}])");
        await WaitUntilAsync(() => seen.Contains($"UNSUBSCRIBE {id}/dropped"), () => $"the broker saw the UNSUBSCRIBE of the subscription disposed while offline (it saw [{string.Join(", ", seen)}])");
        Assert.Contains("connected, session resumed", states);
        var order = seen.ToList();
        Assert.Equal(1, order.Count(s => s == $"SUBSCRIBE {self}"));
        Assert.True(order.IndexOf($"SUBSCRIBE {self}") < order.IndexOf($"PUBLISH {self}"), "the SUBSCRIBE reached the broker after a publish queued behind it: " + string.Join(", ", order));
        Assert.DoesNotContain($"SUBSCRIBE {id}/kept", order); // the session holds it: sent again, its retained messages would come again
        Assert.Equal(["1", "2", "3"], received);
        await kept.DisposeAsync();
    }

    /// <summary>
    /// Through Mosquitto, which keeps the session while the proxy is cut: a subscription declared offline receives what
    /// was published to it offline, and one disposed offline receives nothing more, nor does the broker send it.
    /// </summary>
    [MosquittoFact]
    public async Task Through_Mosquitto_a_kept_session_gets_the_offline_subscription_and_loses_the_offline_unsubscribed_one()
    {
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoSetup { PlainOnly = true });
        await using var proxy = new TcpProxy(broker.TcpPort);
        var id = "kept-" + Guid.NewGuid().ToString("N")[..8];
        await using var connection = await ConnectKeptAsync(proxy, id);
        var states = new ConcurrentQueue<string>();
        connection.StateChanged += (_, e) => states.Enqueue(e.Reason);
        var droppedReceived = 0;
        var dropped = await connection.SubscribeAsync($"{id}/dropped", (_, _, _) =>
        {
            Interlocked.Increment(ref droppedReceived);
            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce });

        var (self, received, subscribing, published) = await ChangeWhileOfflineAsync(proxy, connection, id, dropped);
        await proxy.PassThrough();

        await using var subscription = await subscribing.WaitAsync(Wait);
        await Task.WhenAll(published).WaitAsync(Wait);
        await WaitUntilAsync(() => received.Count == 3, () => $"the three publishes queued while offline reached the subscription declared before them (received [{string.Join(", ", received)}])");
        Assert.Contains("connected, session resumed", states);

        // The unsubscribed filter: another client publishes to it, then to the live one; only the live one's message
        // crosses the proxy (Mosquitto forwards in order, so the first would have arrived before it).
        await using var other = await MqttConnection.ConnectAsync(broker.TcpAddress);
        var before = proxy.PublishesToClient;
        await other.PublishAsync($"{id}/dropped", "late"u8.ToArray(), MqttQos.AtLeastOnce);
        await other.PublishAsync(self, "4"u8.ToArray(), MqttQos.AtLeastOnce);
        await WaitUntilAsync(() => received.Count == 4, () => "the live subscription received the other client's message");
        Assert.Equal(1, proxy.PublishesToClient - before);
        Assert.Equal(0, Volatile.Read(ref droppedReceived));
    }

    /// <summary>
    /// A subscription declared offline that the broker refuses on the next link: the waiting call throws the refusal, and
    /// SubscriptionFailed is not raised for it as well; a subscription whose call had returned, refused on the same link,
    /// is reported through SubscriptionFailed (its handler is not called again until a later link succeeds).
    /// </summary>
    [Fact]
    public async Task A_refused_restore_is_thrown_to_a_waiting_call_and_raised_as_SubscriptionFailed_only_for_a_returned_subscription()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var proxy = new TcpProxy(broker.Port);
        var id = "refuse-" + Guid.NewGuid().ToString("N")[..8];
        var refuse = 0;
        broker.Server.InterceptingSubscriptionAsync += e =>
        {
            if (e.ClientId == id && Volatile.Read(ref refuse) == 1 && e.TopicFilter.Topic.EndsWith("/refused", StringComparison.Ordinal))
            {
                e.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
            }

            return Task.CompletedTask;
        };

        var seen = BrokerLog.Record(broker, id);
        await using var connection = await FastReconnect.ConnectAsync($"{proxy.Address}?clientId={id}&connectTimeout=1");
        var failures = new ConcurrentQueue<string>();
        connection.SubscriptionFailed += (_, e) => failures.Enqueue(e.Filter);
        await using var returned = await connection.SubscribeAsync($"{id}/returned/refused", (_, _, _) => Task.CompletedTask);

        await GoOfflineAsync(proxy, connection);
        Volatile.Write(ref refuse, 1);
        var waiting = connection.SubscribeAsync($"{id}/waiting/refused", (_, _, _) => Task.CompletedTask);
        await proxy.PassThrough();

        var error = await Assert.ThrowsAsync<MqttOperationException>(() => waiting.WaitAsync(Wait));
        Assert.Contains($"refused the subscription to '{id}/waiting/refused'", error.Message, StringComparison.Ordinal);
        await WaitUntilAsync(() => !failures.IsEmpty, () => "the returned subscription's refusal was raised");
        await Task.Delay(200); // a second event would come with the first: both answers are in one SUBACK round trip
        Assert.Equal([$"{id}/returned/refused"], failures);
        Assert.DoesNotContain(seen, s => s.StartsWith("UNSUBSCRIBE", StringComparison.Ordinal)); // a refused filter is held by no broker
    }

    /// <summary>
    /// An UNSUBSCRIBE lost with the link (the proxy resets the connection on its first byte, so the broker never reads
    /// it) is sent again on the kept session's next link: the broker still holds the subscription.
    /// </summary>
    [Fact]
    public async Task An_UNSUBSCRIBE_lost_with_the_link_is_sent_again_on_the_kept_session_s_next_link()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var proxy = new TcpProxy(broker.Port);
        var id = "kept-" + Guid.NewGuid().ToString("N")[..8];
        var seen = BrokerLog.Record(broker, id);
        await using var connection = await ConnectKeptAsync(proxy, id);
        var states = new ConcurrentQueue<string>();
        connection.StateChanged += (_, e) => states.Enqueue(e.Reason);
        var dropped = await connection.SubscribeAsync($"{id}/dropped", (_, _, _) => Task.CompletedTask);

        proxy.CutAfterBytes(ProxyDirection.ClientToServer, 0);
        await dropped.DisposeAsync().AsTask().WaitAsync(Wait);

        await WaitUntilAsync(() => seen.Contains($"UNSUBSCRIBE {id}/dropped"), () => $"the UNSUBSCRIBE was sent again on the next link (the broker saw [{string.Join(", ", seen)}]; states [{string.Join("; ", states)}])");
        Assert.Contains("connected, session resumed", states);
    }

    /// <summary>
    /// Takes the connection offline, then subscribes to <c>{id}/self</c> at QoS 1 (what it receives goes to the queue
    /// returned), publishes "1", "2" and "3" to it and disposes <paramref name="dropped"/>; the proxy stays black-holed.
    /// </summary>
    private static async Task<(string Self, ConcurrentQueue<string> Received, Task<MqttSubscription> Subscribing, Task[] Published)> ChangeWhileOfflineAsync(
        TcpProxy proxy, MqttConnection connection, string id, MqttSubscription dropped)
    {
        await GoOfflineAsync(proxy, connection);
        var self = $"{id}/self";
        var received = new ConcurrentQueue<string>();
        var subscribing = connection.SubscribeAsync(self, (payload, _, _) =>
        {
            received.Enqueue(Encoding.UTF8.GetString(payload.Span));
            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce });
        var published = new[] { "1", "2", "3" }.Select(text => connection.PublishAsync(self, Encoding.UTF8.GetBytes(text), MqttQos.AtLeastOnce)).ToArray();
        await dropped.DisposeAsync();
        return (self, received, subscribing, published);
    }
}
