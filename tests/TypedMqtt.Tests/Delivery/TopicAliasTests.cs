using System.Collections.Concurrent;
using System.Diagnostics;
using TypedMqtt.Tests.Infrastructure;
using Xunit.Abstractions;

namespace TypedMqtt.Tests.Delivery;

/// <summary>
/// Outbound topic aliases against Mosquitto (which allows 10 by default, or what max_topic_alias says): assigned
/// automatically, the topic sent once, every message arriving under its full topic, and reset with the connection.
/// </summary>
[Collection(MosquittoCollection.Name)]
public sealed class TopicAliasTests(MosquittoFixture mosquitto, ITestOutputHelper output)
{
    private const int Messages = 10_000;

    [MosquittoFact]
    public async Task Ten_thousand_publishes_to_one_long_topic_use_an_alias_and_all_arrive_under_the_full_topic()
    {
        var topic = "plant/" + new string('x', 180) + "/" + Guid.NewGuid().ToString("N");
        var topicBytes = System.Text.Encoding.UTF8.GetByteCount(topic);
        // Interleaved (plain, aliased, plain, aliased) so warm-up and machine load fall on both; the rate is printed, not asserted.
        var rounds = new List<(bool Aliases, MqttConnectionStatistics Statistics, TimeSpan Elapsed)>();
        foreach (var aliases in new[] { false, true, false, true })
        {
            var (statistics, elapsed) = await RunAsync(topic, aliases);
            rounds.Add((aliases, statistics, elapsed));
        }

        // Every publish after the first left its topic out.
        Assert.All(rounds.Where(r => r.Aliases), r => Assert.Equal((Messages - 1L) * topicBytes, r.Statistics.TopicAliasBytesSaved));
        Assert.All(rounds.Where(r => !r.Aliases), r => Assert.Equal(0, r.Statistics.TopicAliasBytesSaved));
        string Rates(bool aliases) => string.Join(", ", rounds.Where(r => r.Aliases == aliases).Select(r => $"{Messages / r.Elapsed.TotalSeconds:N0}"));
        output.WriteLine($"topic of {topicBytes} bytes, {Messages} QoS 1 publishes (window 64): {(Messages - 1L) * topicBytes:N0} topic bytes saved " +
            $"({topicBytes} per message after the first); msg/s with aliases {Rates(true)}, without {Rates(false)}");
    }

    [MosquittoFact]
    public async Task With_more_topics_than_aliases_the_first_keep_theirs_and_every_message_arrives_under_its_own_topic()
    {
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoSetup { PlainOnly = true, PlainListenerConfig = "max_topic_alias 2\n" });
        var prefix = $"aliases/{Guid.NewGuid():N}/";
        await using var subscriber = await MqttConnection.ConnectAsync(broker.TcpAddress);
        var arrived = new ConcurrentDictionary<string, int>();
        await using var subscription = await subscriber.SubscribeAsync(prefix + "#", (payload, context, _) =>
        {
            // Each payload names the topic it was published to.
            Assert.Equal(prefix + System.Text.Encoding.UTF8.GetString(payload.Span), context.Topic);
            arrived.AddOrUpdate(context.Topic, 1, (_, n) => n + 1);
            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce });

        await using var publisher = await MqttConnection.ConnectAsync(broker.TcpAddress);
        Assert.Equal(2, publisher.ConnectResult.TopicAliasMaximum);
        var names = Enumerable.Range(0, 5).Select(i => "topic-" + i + "-" + new string('t', 40)).ToArray();

        // Concurrent publishes to five topics: the mapping must reach the broker before any PUBLISH uses an alias alone.
        await Task.WhenAll(Enumerable.Range(0, 500).Select(i => publisher.PublishAsync(prefix + names[i % 5], System.Text.Encoding.UTF8.GetBytes(names[i % 5]), MqttQos.AtLeastOnce)));
        await WaitForAsync(() => arrived.Values.Sum() >= 500);

        Assert.Equal(names.Select(n => (prefix + n, 100)).Order(), arrived.Select(p => (p.Key, p.Value)).Order());
        Assert.True(publisher.IsConnected);

        // Two topics aliased (each sent in full at least once), three by name.
        var topicBytes = System.Text.Encoding.UTF8.GetByteCount(prefix + names[0]);
        Assert.InRange(publisher.Statistics.TopicAliasBytesSaved, 100L * topicBytes, 198L * topicBytes);
    }

    [MosquittoFact]
    public async Task Aliases_are_set_up_again_after_a_reconnect()
    {
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoSetup { PlainOnly = true });
        var topic = $"reconnect/{Guid.NewGuid():N}/" + new string('r', 60);
        var arrived = new ConcurrentQueue<string>();
        await using var subscriber = await MqttConnection.ConnectAsync(broker.TcpAddress + "?cleanStart=false&sessionExpiry=600&clientId=alias-sub-" + Guid.NewGuid().ToString("N")[..8]);
        await using var subscription = await subscriber.SubscribeAsync(topic, (payload, context, _) =>
        {
            arrived.Enqueue(context.Topic + "|" + System.Text.Encoding.UTF8.GetString(payload.Span));
            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce });
        await using var publisher = await MqttConnection.ConnectAsync(broker.TcpAddress);

        for (var i = 0; i < 10; i++)
        {
            await publisher.PublishAsync(topic, System.Text.Encoding.UTF8.GetBytes("before" + i), MqttQos.AtLeastOnce);
        }

        // A new network connection starts with no aliases: the broker forgot them, and so must the client.
        await broker.RestartAsync();
        await WaitForAsync(() => publisher.IsConnected && subscriber.IsConnected);
        for (var i = 0; i < 10; i++)
        {
            await publisher.PublishAsync(topic, System.Text.Encoding.UTF8.GetBytes("after" + i), MqttQos.AtLeastOnce);
        }

        await WaitForAsync(() => arrived.Count(a => a.Contains("|after", StringComparison.Ordinal)) >= 10);
        Assert.All(arrived, a => Assert.StartsWith(topic + "|", a, StringComparison.Ordinal));
        Assert.Equal(1, publisher.Statistics.Reconnects);
    }

    private async Task<(MqttConnectionStatistics Statistics, TimeSpan Elapsed)> RunAsync(string topic, bool aliases)
    {
        var received = 0;
        var wrongTopic = 0;
        await using var subscriber = await MqttConnection.ConnectAsync(mosquitto.Broker.TcpAddress);
        await using var subscription = await subscriber.SubscribeAsync(topic, (_, context, _) =>
        {
            if (context.Topic != topic)
            {
                Interlocked.Increment(ref wrongTopic);
            }

            Interlocked.Increment(ref received);
            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce });

        await using var publisher = await MqttConnection.ConnectAsync(MqttConnectionOptionsBuilder.FromAddress(mosquitto.Broker.TcpAddress).WithTopicAliases(aliases).Build());
        Assert.True(publisher.ConnectResult.TopicAliasMaximum > 0, "Mosquitto allows topic aliases by default");
        var clock = Stopwatch.StartNew();
        var window = new SemaphoreSlim(64);
        var publishes = new List<Task>(Messages);
        for (var i = 0; i < Messages; i++)
        {
            await window.WaitAsync();
            publishes.Add(publisher.PublishAsync(topic, new byte[16], MqttQos.AtLeastOnce).ContinueWith(_ => window.Release(), TaskScheduler.Default));
        }

        await Task.WhenAll(publishes);
        await WaitForAsync(() => Volatile.Read(ref received) >= Messages);
        var elapsed = clock.Elapsed;
        Assert.Equal(Messages, Volatile.Read(ref received));
        Assert.Equal(0, Volatile.Read(ref wrongTopic));
        return (publisher.Statistics, elapsed);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting");
            await Task.Delay(20);
        }
    }
}
