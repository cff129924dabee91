using System.Collections.Concurrent;
using TypedMqtt.Tests.Infrastructure;
using static TypedMqtt.Tests.Infrastructure.Wire;

namespace TypedMqtt.Tests.Delivery;

/// <summary>
/// Messages a connection received whole before its link ended are still handed to the handlers (QoS 0 has no second
/// chance; QoS 1 would be lost when the broker keeps no session), in order, before anything the next link brings. A close
/// by the application drops them instead. The handler is slow and its buffer
/// holds one message, so the link's own delivery queue holds the rest when the link ends.
/// </summary>
public sealed class DeliveryAfterLinkLossTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(15);

    private static MqttConnectionOptions Options(int port, string clientId) => FastReconnect.Options($"mqtt://127.0.0.1:{port}?clientId={clientId}");

    private static readonly MqttSubscriptionOptions OneBuffered = new() { BufferCapacity = 1 };

    /// <summary>QoS 0 PUBLISH packets to prefix/0 .. prefix/(count - 1).</summary>
    private static byte[][] QoS0(string prefix, int count) => [.. Enumerable.Range(0, count).Select(i => Publish(true, Str($"{prefix}/{i}")))];

    /// <summary>
    /// A first session: CONNACK, then after the SUBSCRIBE <paramref name="packets"/> and a PUBLISH with QoS 3 (malformed,
    /// 3.3.1.2) in one write: the client decodes the whole packets before it, then closes the link.
    /// </summary>
    private static Func<ScriptedSession, Task> SendsThenBreaks(byte[][] packets) => async s =>
    {
        await s.ConnackAsync();
        await s.WaitForAsync(8);
        await s.SendAsync(Concat([.. packets, Publish(true, Str("broken/bad"), qos: 3, packetId: 2)]));
    };

    [Fact]
    public async Task What_a_lost_link_received_is_delivered_in_order_before_the_next_links_messages()
    {
        var sixthSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var broker = new ScriptedBroker(
            SendsThenBreaks([.. QoS0("kept", 5), Publish(true, Str("kept/5"), qos: 1, packetId: 1)]),
            async s =>
            {
                await s.ConnackAsync();
                await s.WaitForAsync(8); // the subscription, restored in the new session
                await s.SendAsync(Publish(true, Str("kept/6")));
                sixthSent.TrySetResult();
            });

        await using var connection = await MqttConnection.ConnectAsync(Options(broker.Port, "kept"));
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.StateChanged += (_, e) =>
        {
            if (e.Current == MqttConnectionState.Disconnected)
            {
                lost.TrySetResult();
            }
        };

        var entered = new ConcurrentQueue<string>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await connection.SubscribeAsync("kept/#", async (_, context, _) =>
        {
            entered.Enqueue(context.Topic);
            switch (context.Topic)
            {
                case "kept/0":
                    await lost.Task.WaitAsync(Limit); // the link ends while the handler is busy: kept/2..5 still wait
                    break;
                case "kept/1":
                    await sixthSent.Task.WaitAsync(Limit); // the next link has kept/6 while this link's messages wait
                    await Task.Delay(300);
                    break;
                case "kept/6":
                    all.TrySetResult();
                    break;
            }
        }, OneBuffered);

        await all.Task.WaitAsync(Limit);
        Assert.Null(broker.ScriptError);
        Assert.Equal(["kept/0", "kept/1", "kept/2", "kept/3", "kept/4", "kept/5", "kept/6"], entered);
        Assert.Equal(2, broker.Connections);
    }

    [Fact]
    public async Task A_close_by_the_application_drops_what_was_not_delivered()
    {
        await using var broker = new ScriptedBroker(async s =>
        {
            await s.ConnackAsync();
            await s.WaitForAsync(8);
            await s.SendAsync(Concat(Publish(true, Str("drop/0")), Publish(true, Str("drop/1")), Publish(true, Str("drop/2")), Publish(true, Str("drop/3"))));
        });

        await using var connection = await MqttConnection.ConnectAsync(Options(broker.Port, "drop"));
        var entered = new ConcurrentQueue<string>();
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await connection.SubscribeAsync("drop/#", async (_, context, _) =>
        {
            entered.Enqueue(context.Topic);
            first.TrySetResult();
            await release.Task.WaitAsync(Limit);
        }, OneBuffered);

        await first.Task.WaitAsync(Limit);
        await Task.Delay(200); // drop/1 in the handler's buffer, drop/2 waiting for space, drop/3 in the link's queue
        await connection.DisconnectAsync().WaitAsync(Limit); // the subscription (and its handler) stays until disposal
        release.TrySetResult();
        await Task.Delay(500);

        // drop/1 was already in the handler's buffer and drop/2 on its way in; what the link still held is gone.
        Assert.Equal(MqttConnectionState.Closed, connection.State);
        Assert.DoesNotContain("drop/3", entered);
        Assert.Null(broker.ScriptError);
    }

    [Fact]
    public async Task A_close_while_a_lost_link_still_delivers_drops_what_it_holds()
    {
        await using var broker = new ScriptedBroker(SendsThenBreaks(QoS0("late", 5)));

        await using var connection = await MqttConnection.ConnectAsync(Options(broker.Port, "late"));
        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var wasLost = false;
        connection.StateChanged += (_, e) =>
        {
            wasLost |= e.Current == MqttConnectionState.Disconnected;
            if (wasLost && e.Current == MqttConnectionState.Connected)
            {
                reconnected.TrySetResult();
            }
        };

        var entered = new ConcurrentQueue<string>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await connection.SubscribeAsync("late/#", async (_, context, _) =>
        {
            entered.Enqueue(context.Topic);
            if (context.Topic == "late/0")
            {
                await release.Task.WaitAsync(Limit);
            }
        }, OneBuffered);

        // The first link is lost with late/3 and late/4 in its queue, and the second link is up, waiting for it to drain.
        await reconnected.Task.WaitAsync(Limit);
        await connection.DisconnectAsync().WaitAsync(Limit);
        release.TrySetResult();
        await Task.Delay(500);

        Assert.Equal(MqttConnectionState.Closed, connection.State);
        Assert.DoesNotContain("late/3", entered);
        Assert.DoesNotContain("late/4", entered);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_QoS_2_message_a_lost_link_read_is_delivered_once(bool cleanStart)
    {
        // QoS 2 behind a busy handler when the link ends. With a clean start the broker can never resend it: delivered
        // from the lost link. With a kept session the broker resends it (DUP, same identifier) on the next link: delivered
        // from there, once, and not from the lost link as well.
        await using var broker = new ScriptedBroker(
            SendsThenBreaks([.. QoS0("once", 3), Publish(true, Str("once/3"), qos: 2, packetId: 9, payload: "q2"u8.ToArray())]),
            async s =>
            {
                if (cleanStart)
                {
                    await s.ConnackAsync();
                    return;
                }

                await s.SendAsync(Connack(flags: 0x01)); // session present
                await s.SendAsync(Publish(true, Str("once/3"), qos: 2, packetId: 9, payload: "q2"u8.ToArray(), headerFlags: 0x08));
            });

        var options = FastReconnect.Options($"mqtt://127.0.0.1:{broker.Port}?clientId=once&cleanStart={(cleanStart ? "true" : "false")}");
        await using var connection = await MqttConnection.ConnectAsync(options);
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.StateChanged += (_, e) =>
        {
            if (e.Current == MqttConnectionState.Disconnected)
            {
                lost.TrySetResult();
            }
        };

        var entered = new ConcurrentQueue<string>();
        await connection.SubscribeAsync("once/#", async (_, context, _) =>
        {
            entered.Enqueue(context.Topic);
            if (context.Topic == "once/0")
            {
                await lost.Task.WaitAsync(Limit);
            }
        }, OneBuffered with { Qos = MqttQos.ExactlyOnce });

        var deadline = DateTime.UtcNow + Limit;
        while (!entered.Contains("once/3") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await Task.Delay(500); // a second delivery would come now
        Assert.Null(broker.ScriptError);
        Assert.Equal(["once/0", "once/1", "once/2", "once/3"], entered);
        Assert.Equal(2, broker.Connections);
    }
}

/// <summary>The same on Mosquitto: a proxy resets the subscriber's connection while its handler is busy and the link still holds messages.</summary>
[Collection(MosquittoCollection.Name)]
public sealed class MosquittoDeliveryAfterLinkLossTests(MosquittoFixture fixture)
{
    [MosquittoFact]
    public async Task On_Mosquitto_QoS_0_and_QoS_1_messages_read_before_a_reset_are_delivered()
    {
        var prefix = "lost" + Guid.NewGuid().ToString("N")[..8];
        await using var proxy = new TcpProxy(fixture.Broker.TcpPort);
        await using var subscriber = await MqttConnection.ConnectAsync(FastReconnect.Options(proxy.Address));
        await using var publisher = await MqttConnection.ConnectAsync(fixture.Broker.TcpAddress);
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        subscriber.StateChanged += (_, e) =>
        {
            if (e.Current == MqttConnectionState.Disconnected)
            {
                lost.TrySetResult();
            }
        };

        var entered = new ConcurrentQueue<string>();
        await subscriber.SubscribeAsync($"{prefix}/#", async (_, context, _) =>
        {
            entered.Enqueue(context.Topic[(prefix.Length + 1)..]);
            if (entered.Count == 1)
            {
                await lost.Task.WaitAsync(TimeSpan.FromSeconds(15));
            }
        }, new MqttSubscriptionOptions { Qos = MqttQos.AtLeastOnce, BufferCapacity = 1 });

        string[] expected = ["0", "1", "2", "3", "4", "5"];
        foreach (var n in expected)
        {
            await publisher.PublishAsync($"{prefix}/{n}", "x"u8.ToArray(), n is "3" or "5" ? MqttQos.AtLeastOnce : MqttQos.AtMostOnce);
        }

        // Every message through the proxy, then a moment for the subscriber's reader (which never waits for handlers) to
        // take them off the socket: one in the handler, one in its buffer, the rest in the link's queue.
        var forwarded = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (proxy.PublishesToClient < expected.Length && DateTime.UtcNow < forwarded)
        {
            await Task.Delay(10);
        }

        Assert.Equal(expected.Length, proxy.PublishesToClient);
        await Task.Delay(300);
        proxy.Reset();
        await lost.Task.WaitAsync(TimeSpan.FromSeconds(15));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (entered.Count < expected.Length && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await Task.Delay(200); // nothing twice: the new session owes nothing
        Assert.Equal(expected, entered);
    }
}
