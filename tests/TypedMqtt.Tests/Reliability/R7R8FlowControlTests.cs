using System.Collections.Concurrent;
using System.Diagnostics;
using TypedMqtt.Tests.Infrastructure;
using Xunit.Abstractions;
using static TypedMqtt.Tests.Reliability.ReliabilityKit;

namespace TypedMqtt.Tests.Reliability;

/// <summary>
/// R7: the client never has more QoS 1 publishes in flight than the server's receive maximum, counted at the proxy
/// while it withholds the broker's acknowledgements. R8: the server's maximum packet size, maximum QoS and retain
/// availability are enforced locally with typed errors, without a single disconnect.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class R7R8FlowControlTests(ITestOutputHelper output)
{
    [MosquittoFact]
    public async Task R7_never_more_in_flight_than_the_server_receive_maximum_while_acknowledgements_are_withheld()
    {
        const int publishes = 100;
        var total = Stopwatch.StartNew();

        // Mosquitto sends max_inflight_messages to v5 clients as CONNACK Receive Maximum.
        await using var broker = await MosquittoBroker.StartAsync(PersistentBroker("max_inflight_messages 10\n"));
        await using var proxy = new TcpProxy(broker.TcpPort);
        await using var connection = await ConnectAsync(proxy.Address, NewClientId("r7"), persistentSession: false);
        var receiveMaximum = connection.ConnectResult.ReceiveMaximum;

        proxy.WithholdAcknowledgements();
        var tasks = Enumerable.Range(0, publishes).Select(i => connection.PublishAsync("r7/flow", Sequence(i), MqttQos.AtLeastOnce)).ToList();
        var hold = Stopwatch.StartNew();
        while (proxy.PublishesForwarded < receiveMaximum && hold.Elapsed < TimeSpan.FromSeconds(3))
        {
            await Task.Delay(10);
        }

        await Task.Delay(1000); // anything beyond the window would have gone out by now
        var forwardedWhileWithheld = proxy.PublishesForwarded;
        var withheld = proxy.AcknowledgementsWithheld;
        var completedWhileWithheld = tasks.Count(t => t.IsCompleted);
        var maxWhileWithheld = proxy.MaxPublishesInFlight;

        await proxy.ReleaseAcknowledgementsAsync();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(20));

        Print(output, "R7",
            ("server receive maximum", receiveMaximum), ("publishes", publishes), ("sent while acks withheld", forwardedWhileWithheld),
            ("acks withheld", withheld), ("completed while withheld", completedWhileWithheld), ("max in flight while withheld (proxy)", maxWhileWithheld),
            ("max in flight overall (proxy)", proxy.MaxPublishesInFlight), ("sent in total", proxy.PublishesForwarded), ("statistics", Stats(connection)),
            ("total", Ms(total.Elapsed)));

        Assert.Equal(10, receiveMaximum);
        Assert.True(forwardedWhileWithheld > 0, "nothing was sent while the acknowledgements were withheld");
        Assert.Equal(0, completedWhileWithheld);
        Assert.True(proxy.MaxPublishesInFlight <= receiveMaximum, $"{proxy.MaxPublishesInFlight} QoS 1 publishes were in flight at once; the server allows {receiveMaximum}");
        Assert.Equal(publishes, proxy.PublishesForwarded);
    }

    [MosquittoFact]
    public async Task R8_server_limits_give_typed_local_errors_and_no_disconnect()
    {
        const int rounds = 20;
        await using var broker = await MosquittoBroker.StartAsync(PersistentBroker("max_packet_size 1024\nretain_available false\n") with { PlainListenerConfig = "max_qos 1" }); // max_qos is a listener option
        await using var connection = await ConnectAsync(broker.TcpAddress, NewClientId("r8"), persistentSession: false);
        var changes = new ConcurrentQueue<string>();
        connection.StateChanged += (_, e) => changes.Enqueue($"{e.Current}: {e.Reason}");
        await using var probe = await MessageProbe.SubscribeAsync(connection, "r8/#");
        var server = connection.ConnectResult;
        Print(output, "R8 CONNACK", ("maximum packet size", server.MaximumPacketSize), ("maximum QoS", server.MaximumQos), ("retain available", server.RetainAvailable));

        var codes = new ConcurrentDictionary<string, int?>();
        var counts = new ConcurrentDictionary<string, int>();
        async Task ExpectAsync(string what, Func<Task> publish)
        {
            var e = await Assert.ThrowsAsync<MqttOperationException>(publish);
            codes[what] = e.ReasonCode;
            counts.AddOrUpdate(what, 1, (_, n) => n + 1);
        }

        for (var i = 0; i < rounds; i++)
        {
            await ExpectAsync("too large", () => connection.PublishAsync("r8/big", new byte[2000], MqttQos.AtLeastOnce));
            await ExpectAsync("QoS 2", () => connection.PublishAsync("r8/qos", Sequence(i), MqttQos.ExactlyOnce));
            await ExpectAsync("retain", () => connection.PublishAsync("r8/retain", Sequence(i), MqttQos.AtLeastOnce, retain: true));
        }

        // What fits still goes through on the same connection.
        await connection.PublishAsync("r8/ok", new byte[900], MqttQos.AtLeastOnce);
        var arrived = await probe.NextAsync();

        Print(output, "R8",
            ("server maximum packet size", server.MaximumPacketSize), ("server maximum QoS", server.MaximumQos), ("retain available", server.RetainAvailable),
            ("rounds", rounds), ("errors", string.Join(", ", codes.Select(c => $"{c.Key} x{counts[c.Key]} -> 0x{c.Value:X2}"))),
            ("state changes (disconnects)", changes.Count), ("900-byte publish arrived", arrived.Payload.Length == 900), ("connected", connection.IsConnected));

        Assert.Equal(1024u, server.MaximumPacketSize);
        Assert.Equal(MqttQos.AtLeastOnce, server.MaximumQos);
        Assert.False(server.RetainAvailable);
        Assert.Equal(0x95, codes["too large"]);
        Assert.Equal(0x9B, codes["QoS 2"]);
        Assert.Equal(0x9A, codes["retain"]);
        Assert.True(changes.IsEmpty, "state changed: " + string.Join("; ", changes));
        Assert.True(connection.IsConnected);
        Assert.Equal(900, arrived.Payload.Length);
    }
}
