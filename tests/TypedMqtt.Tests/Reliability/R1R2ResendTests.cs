using System.Diagnostics;
using TypedMqtt.Tests.Infrastructure;
using Xunit.Abstractions;
using static TypedMqtt.Tests.Reliability.ReliabilityKit;

namespace TypedMqtt.Tests.Reliability;

/// <summary>
/// R1 and R2: a publish whose task completed successfully is never lost, through broker restarts (SIGTERM, with
/// persistence) and connection resets. Publisher and subscriber keep persistent sessions; every message carries a
/// sequence number, so the subscriber counts what arrived, what is missing and what came twice.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class R1R2ResendTests(ITestOutputHelper output)
{
    private const int Window = 64;

    [MosquittoFact]
    public async Task R1_QoS1_100000_messages_through_20_broker_restarts_lose_nothing()
    {
        const int messages = 100_000;
        const int restarts = 20;
        var total = Stopwatch.StartNew();
        await using var broker = await MosquittoBroker.StartAsync(PersistentBroker());
        var counts = new int[messages];
        await using var subscriber = await ConnectAsync(broker.TcpAddress, NewClientId("r1-sub"), persistentSession: true);
        await using var subscription = await CountIntoAsync(subscriber, "r1/seq", MqttQos.AtLeastOnce, counts);
        await using var publisher = await ConnectAsync(broker.TcpAddress, NewClientId("r1-pub"), persistentSession: true);

        var faults = Enumerable.Range(0, restarts).Select(_ => (Func<Task>)broker.RestartAsync).ToList();
        var flow = await PublishUnderFaultsAsync(publisher, "r1/seq", messages, MqttQos.AtLeastOnce, Window, faults, TimeSpan.FromSeconds(150), publisher, subscriber);
        var delivery = await AwaitDeliveryAsync(flow, counts, TimeSpan.FromSeconds(30));

        Print(output, "R1",
            ("messages", messages), ("broker restarts (SIGTERM)", broker.Restarts), ("publishes completed ok", flow.SucceededCount),
            ("publishes failed", flow.Failures.Count), ("stalled", flow.Stalled), ("received distinct", delivery.Received),
            ("lost", delivery.Lost), ("duplicates", delivery.Duplicates), ("publisher reconnect attempts", publisher.ReconnectAttempts),
            ("subscriber reconnect attempts", subscriber.ReconnectAttempts), ("publish phase", Ms(flow.Elapsed)), ("total", Ms(total.Elapsed)));
        Print(output, "R1", ("first failure", FirstFailure(flow.Failures)));
        Print(output, "R1", ("publisher statistics", Stats(publisher)));
        Print(output, "R1", ("subscriber statistics", Stats(subscriber)));
        if (delivery.Lost > 0 || flow.Stalled || flow.Failures.Count > 0)
        {
            output.WriteLine("R1: broker log, connections ending:\n" + BrokerDisconnects(broker));
        }

        Assert.Equal(restarts, broker.Restarts);
        Assert.False(flow.Stalled, $"publishing stalled: {flow.Completed} of {flow.Started} started publishes completed within the time limit");
        Assert.Equal(0, delivery.Lost);

        // Without this a runtime that failed every publish during an outage would trivially lose nothing.
        Assert.True(flow.Failures.Count == 0, $"{flow.Failures.Count} publishes failed; first: {FirstFailure(flow.Failures)}");
        Assert.Equal(messages, delivery.Received);
    }

    /// <summary>Five consecutive runs (each on a fresh broker), each printing its figures: exactly once must hold in every one.</summary>
    [MosquittoTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task R2_QoS2_20000_messages_through_10_restarts_and_10_proxy_cuts_arrive_exactly_once(int run)
    {
        const int messages = 20_000;
        var total = Stopwatch.StartNew();
        await using var broker = await MosquittoBroker.StartAsync(PersistentBroker());
        await using var proxy = new TcpProxy(broker.TcpPort);
        var counts = new int[messages];
        await using var subscriber = await ConnectAsync(proxy.Address, NewClientId("r2-sub"), persistentSession: true);
        await using var subscription = await CountIntoAsync(subscriber, "r2/seq", MqttQos.ExactlyOnce, counts);
        await using var publisher = await ConnectAsync(proxy.Address, NewClientId("r2-pub"), persistentSession: true);

        // Alternate: restart, cut, restart, cut... A cut resets the sockets mid-flow (RST, no DISCONNECT): half of them
        // after some more bytes toward the broker (usually inside a packet), half after some more packets toward the clients.
        var faults = new List<Func<Task>>();
        var cutsInjected = 0;
        for (var i = 0; i < 10; i++)
        {
            var cut = i;
            faults.Add(broker.RestartAsync);
            faults.Add(async () =>
            {
                var before = proxy.Resets;
                Interlocked.Increment(ref cutsInjected);
                if (cut % 2 == 0)
                {
                    proxy.CutAfterBytes(ProxyDirection.ClientToServer, 1000 + (37 * cut));
                }
                else
                {
                    proxy.CutAfterPackets(ProxyDirection.ServerToClient, 5 + cut);
                }

                var wait = Stopwatch.StartNew();
                while (proxy.Resets == before && wait.Elapsed < TimeSpan.FromSeconds(5))
                {
                    await Task.Delay(5);
                }

                if (proxy.Resets == before)
                {
                    proxy.Reset(); // the flow had stopped: cut anyway
                }
            });
        }

        var flow = await PublishUnderFaultsAsync(publisher, "r2/seq", messages, MqttQos.ExactlyOnce, Window, faults, TimeSpan.FromSeconds(60), publisher, subscriber);
        var delivery = await AwaitDeliveryAsync(flow, counts, TimeSpan.FromSeconds(30));

        Print(output, "R2",
            ("run", run), ("messages", messages), ("broker restarts (SIGTERM)", broker.Restarts), ("proxy cuts", Volatile.Read(ref cutsInjected)), ("proxied connections reset", proxy.Resets),
            ("publishes completed ok", flow.SucceededCount), ("publishes failed", flow.Failures.Count), ("stalled", flow.Stalled),
            ("received distinct", delivery.Received), ("lost", delivery.Lost), ("duplicates delivered to the handler", delivery.Duplicates),
            ("publisher reconnect attempts", publisher.ReconnectAttempts), ("subscriber reconnect attempts", subscriber.ReconnectAttempts),
            ("publish phase", Ms(flow.Elapsed)), ("total", Ms(total.Elapsed)));
        Print(output, "R2", ("first failure", FirstFailure(flow.Failures)));
        Print(output, "R2", ("publisher statistics", Stats(publisher)));
        Print(output, "R2", ("subscriber statistics", Stats(subscriber)));
        if (delivery.Lost > 0 || flow.Stalled || flow.Failures.Count > 0)
        {
            output.WriteLine("R2: broker log, connections ending:\n" + BrokerDisconnects(broker));
        }

        Assert.Equal(10, broker.Restarts);
        Assert.Equal(10, Volatile.Read(ref cutsInjected));
        Assert.False(flow.Stalled, $"publishing stalled: {flow.Completed} of {flow.Started} started publishes completed within the time limit");
        Assert.Equal(0, delivery.Lost);
        Assert.True(flow.Failures.Count == 0, $"{flow.Failures.Count} publishes failed; first: {FirstFailure(flow.Failures)}");
        Assert.Equal(messages, delivery.Received);

        // Exactly once: TypedMqtt owns the session, so resends carry DUP and their original identifiers and flows past
        // PUBREC resume at PUBREL; a resent copy of a message the subscriber already has never reaches its handler.
        Assert.Equal(0, delivery.Duplicates);
    }
}
