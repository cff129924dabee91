using System.Collections.Concurrent;
using TypedMqtt.Dispatch;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Dispatch;

/// <summary>
/// The registry remembers which sinks each topic went to. What it remembers must never outlive a change: a subscription
/// added, a second handler on a filter, a handler removed. On MQTT 3.1.1 a message carries no subscription identifier,
/// so routing goes by topic; Mosquitto sends a 3.1.1 client one copy for overlapping subscriptions.
/// </summary>
[Collection(MosquittoCollection.Name)]
public sealed class RememberedTopicTests(MosquittoFixture fixture)
{
    [MosquittoFact]
    public async Task On_Mosquitto_a_topic_seen_before_reaches_handlers_added_after_it_and_not_handlers_removed()
    {
        var prefix = "rt" + Guid.NewGuid().ToString("N")[..8];
        var topic = $"{prefix}/state/line1";
        await using var connection = await MqttConnection.ConnectAsync(fixture.Broker.TcpAddress + "?version=3.1.1");
        await using var publisher = await MqttConnection.ConnectAsync(fixture.Broker.TcpAddress + "?version=3.1.1");
        var counts = new ConcurrentDictionary<string, int>();
        Func<ReadOnlyMemory<byte>, MqttMessageContext, CancellationToken, Task> Count(string name) => (_, _, _) =>
        {
            counts.AddOrUpdate(name, 1, (_, n) => n + 1);
            return Task.CompletedTask;
        };

        async Task PublishAndExpectAsync(int total)
        {
            await publisher.PublishAsync(topic, "1"u8.ToArray(), MqttQos.AtLeastOnce);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
            while (counts.Values.Sum() < total && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }

            await Task.Delay(100); // let any extra delivery land before the caller counts
        }

        var options = MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce };
        var first = await connection.SubscribeAsync($"{prefix}/state/+", Count("first"), options);
        await PublishAndExpectAsync(1);
        Assert.Equal(new Dictionary<string, int> { ["first"] = 1 }, counts);

        // A new filter that also matches: the topic's remembered sinks must not hide it.
        var wide = await connection.SubscribeAsync($"{prefix}/#", Count("wide"), options);
        await PublishAndExpectAsync(3);
        Assert.Equal(new Dictionary<string, int> { ["first"] = 2, ["wide"] = 1 }, counts);

        // A second handler on an existing filter (no new broker subscription).
        var second = await connection.SubscribeAsync($"{prefix}/state/+", Count("second"), options);
        await PublishAndExpectAsync(6);
        Assert.Equal(new Dictionary<string, int> { ["first"] = 3, ["wide"] = 2, ["second"] = 1 }, counts);

        // A removed handler gets nothing more.
        await first.DisposeAsync();
        await PublishAndExpectAsync(8);
        Assert.Equal(new Dictionary<string, int> { ["first"] = 3, ["wide"] = 3, ["second"] = 2 }, counts);

        await wide.DisposeAsync();
        await PublishAndExpectAsync(9);
        Assert.Equal(new Dictionary<string, int> { ["first"] = 3, ["wide"] = 3, ["second"] = 3 }, counts);
        await second.DisposeAsync();
    }

    [Fact]
    public void More_topics_than_are_remembered_still_reach_exactly_their_sinks_every_time()
    {
        var registry = new SubscriptionRegistry();
        var byDevice = new NullSink("fleet/+/status");
        var everything = new NullSink("fleet/#");
        registry.Add(byDevice.Filter, byDevice.Filter, MqttSubscriptionOptions.Default, byDevice, out _);
        var everythingEntry = registry.Add(everything.Filter, everything.Filter, MqttSubscriptionOptions.Default, everything, out _);
        var topics = Enumerable.Range(0, SubscriptionRegistry.RememberedTopics + 500).Select(i => i % 3 == 0 ? $"fleet/d{i}/status" : $"fleet/d{i}/other").ToArray();
        var scratch = new List<SubscriptionRegistry.FilterEntry>();
        var sinks = new List<MessageSink>();

        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var topic in topics)
            {
                sinks.Clear();
                registry.Collect(topic, scratch, sinks);
                Assert.Equal(topic.EndsWith("/status", StringComparison.Ordinal) ? [byDevice, everything] : new MessageSink[] { everything }, sinks.OrderBy(s => s.Filter, StringComparer.Ordinal).Reverse());
            }

            // Every topic was new: once the memory filled, remembering stopped for a while.
            Assert.Equal(0, registry.RememberedCount);
        }

        Assert.True(registry.Remove(everythingEntry, everything));
        sinks.Clear();
        registry.Collect(topics[^1], scratch, sinks);
        Assert.Empty(sinks);
        registry.Collect("fleet/d0/status", scratch, sinks);
        Assert.Equal([byDevice], sinks);
    }
}
