using System.Collections.Concurrent;
using TypedMqtt.Tests.Infrastructure;
using Xunit.Abstractions;
using static TypedMqtt.Tests.Reliability.ReliabilityKit;

namespace TypedMqtt.Tests.Reliability;

/// <summary>
/// R11: what is resent after a cut goes out in its original order. A publisher keeps a full in-flight window (32) on
/// 16 topics while its connection to Mosquitto is cut at 20 random points (mid-packet and between packets); the
/// subscriber, connected directly, records the order in which each message first arrived. Overall and per topic,
/// first arrivals must be in publish order.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class R11ResendOrderTests(ITestOutputHelper output)
{
    [MosquittoFact]
    public async Task R11_a_full_window_resent_after_random_cuts_arrives_in_its_original_order_overall_and_per_topic()
    {
        const int messages = 8_000;
        const int topics = 16;
        await using var broker = await MosquittoBroker.StartAsync(PersistentBroker());
        await using var proxy = new TcpProxy(broker.TcpPort);
        var counts = new int[messages];
        var arrivals = new ConcurrentQueue<int>();
        await using var subscriber = await ConnectAsync(broker.TcpAddress, NewClientId("r11-sub"), persistentSession: true);
        await using var subscription = await subscriber.SubscribeAsync(
            "r11/#",
            (payload, _, _) =>
            {
                var sequence = ReadSequence(payload.Span);
                if (Interlocked.Increment(ref counts[sequence]) == 1)
                {
                    arrivals.Enqueue(sequence);
                }

                return Task.CompletedTask;
            },
            MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce });
        await using var publisher = await ConnectAsync(proxy.Address, NewClientId("r11-pub"), persistentSession: true);

        var random = new Random(11);
        var faults = Enumerable.Range(0, 20).Select(i => (Func<Task>)(async () =>
        {
            var before = proxy.Resets;
            if (i % 2 == 0)
            {
                proxy.CutAfterBytes(ProxyDirection.ClientToServer, random.Next(1, 3000));
            }
            else
            {
                proxy.CutAfterPackets(ProxyDirection.ServerToClient, random.Next(1, 40));
            }

            var wait = System.Diagnostics.Stopwatch.StartNew();
            while (proxy.Resets == before && wait.Elapsed < TimeSpan.FromSeconds(5))
            {
                await Task.Delay(5);
            }
        })).ToList();

        var flow = await PublishUnderFaultsAsync(publisher, s => $"r11/{s % topics}", messages, MqttQos.AtLeastOnce, 32, faults, TimeSpan.FromSeconds(90), publisher);
        var delivery = await AwaitDeliveryAsync(flow, counts, TimeSpan.FromSeconds(20));
        var order = arrivals.ToList();
        var overallInversions = order.Zip(order.Skip(1)).Count(p => p.Second < p.First);
        var perTopicInversions = order.GroupBy(s => s % topics).Sum(g => g.Zip(g.Skip(1)).Count(p => p.Second < p.First));
        var firstInversion = order.Zip(order.Skip(1)).Select((p, i) => (p.First, p.Second, i)).FirstOrDefault(p => p.Second < p.First);

        Print(output, "R11",
            ("messages", messages), ("proxy resets", proxy.Resets), ("publisher reconnect attempts", publisher.ReconnectAttempts),
            ("resent", publisher.Statistics.Resent), ("received distinct", delivery.Received), ("lost", delivery.Lost), ("duplicates", delivery.Duplicates),
            ("inversions overall", overallInversions), ("inversions per topic", perTopicInversions),
            ("first inversion", overallInversions == 0 ? "(none)" : $"{firstInversion.First} then {firstInversion.Second} at arrival {firstInversion.i}"));

        Assert.False(flow.Stalled, $"publishing stalled: {flow.Completed} of {flow.Started} completed");
        Assert.True(flow.Failures.Count == 0, $"{flow.Failures.Count} publishes failed; first: {FirstFailure(flow.Failures)}");
        Assert.True(proxy.Resets >= 20, $"only {proxy.Resets} connections were cut");
        Assert.True(publisher.Statistics.Resent > 0, "no cut caught a publish in flight, so nothing tested the resend order");
        Assert.Equal(0, delivery.Lost);
        Assert.Equal(0, perTopicInversions);
        Assert.Equal(0, overallInversions);
    }
}
