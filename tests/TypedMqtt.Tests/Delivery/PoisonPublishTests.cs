using System.Collections.Concurrent;
using System.Text;
using TypedMqtt.Tests.Infrastructure;
using static TypedMqtt.Tests.Infrastructure.Wire;

namespace TypedMqtt.Tests.Delivery;

/// <summary>
/// A publish the broker answers by closing the connection must not block everything behind it forever: after at most
/// two attempts it fails its own task with the reason, leaves the queue, <see cref="MqttConnection.PublishRejected"/>
/// names it, and the publishes behind it flow on.
/// </summary>
[Collection(MosquittoCollection.Name)]
public sealed class PoisonPublishTests
{
    private const int Behind = 100;

    private static MqttConnectionOptions Options(string address) => MqttConnectionOptionsBuilder.FromAddress(address)
        .WithClientId("poison-" + Guid.NewGuid().ToString("N")[..8])
        .Configure(o => o with { Reconnect = new MqttReconnectOptions { MinDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromMilliseconds(200) } })
        .Build();

    /// <summary>Publishes the poison, then <see cref="Behind"/> good QoS 1 messages; returns the poison's failure and what the subscriber got.</summary>
    private static async Task<(Exception Failure, MqttPublishRejectedEventArgs Event, int Arrived, int Attempts)> RunAsync(
        MosquittoBroker broker, string version, Func<MqttConnection, string, Task> poison)
    {
        var prefix = "poison" + Guid.NewGuid().ToString("N")[..8];
        var arrived = new ConcurrentDictionary<string, int>();
        await using var subscriber = await MqttConnection.ConnectAsync($"{broker.TcpAddress}?version={version}");
        await using var subscription = await subscriber.SubscribeAsync($"{prefix}/good/#", (payload, context, _) =>
        {
            arrived.AddOrUpdate(context.Topic, 1, (_, n) => n + 1);
            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce });

        await using var publisher = await MqttConnection.ConnectAsync(Options($"{broker.TcpAddress}?version={version}"));
        var rejected = new TaskCompletionSource<MqttPublishRejectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        publisher.PublishRejected += (_, e) => rejected.TrySetResult(e);
        var bad = poison(publisher, $"{prefix}/bad");
        var good = Enumerable.Range(0, Behind).Select(i => publisher.PublishAsync($"{prefix}/good/{i}", "ok"u8.ToArray(), MqttQos.AtLeastOnce)).ToList();

        var failure = await Assert.ThrowsAsync<MqttOperationException>(() => bad.WaitAsync(TimeSpan.FromSeconds(20)));
        var e = await rejected.Task.WaitAsync(TimeSpan.FromSeconds(5));
        await Task.WhenAll(good).WaitAsync(TimeSpan.FromSeconds(20));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (arrived.Count < Behind && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var attempts = int.Parse(System.Text.RegularExpressions.Regex.Match(failure.Message, "after ([0-9]+) attempts").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        return (failure, e, arrived.Count, attempts);
    }

    [MosquittoFact]
    public async Task A_publish_over_Mosquittos_max_packet_size_fails_within_2_attempts_and_the_100_behind_it_arrive()
    {
        // 3.1.1: the CONNACK announces no maximum, so the client cannot refuse locally; Mosquitto closes the connection.
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoSetup { PlainOnly = true, GlobalConfig = "max_packet_size 2000\n" });
        var (failure, e, arrived, attempts) = await RunAsync(broker, "3.1.1", (c, topic) => c.PublishAsync(topic, new byte[5000], MqttQos.AtLeastOnce));
        Assert.Contains("given up", failure.Message, StringComparison.Ordinal);
        Assert.EndsWith("/bad", e.Topic, StringComparison.Ordinal);
        Assert.Equal(Behind, arrived);
        Assert.InRange(attempts, 1, 2);
    }

    [MosquittoFact]
    public async Task A_QoS2_publish_to_a_311_Mosquitto_that_allows_QoS1_fails_within_2_attempts_and_the_100_behind_it_arrive()
    {
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoSetup { PlainOnly = true, PlainListenerConfig = "max_qos 1\n" });
        var (failure, e, arrived, attempts) = await RunAsync(broker, "3.1.1", (c, topic) => c.PublishAsync(topic, "x"u8.ToArray(), MqttQos.ExactlyOnce));
        Assert.Contains("given up", failure.Message, StringComparison.Ordinal);
        Assert.EndsWith("/bad", e.Topic, StringComparison.Ordinal);
        Assert.Equal(Behind, arrived);
        Assert.InRange(attempts, 1, 2);
    }

    [Fact]
    public async Task A_publish_the_broker_answers_with_DISCONNECT_0x95_fails_with_that_reason_and_the_rest_complete()
    {
        // Every connection: CONNACK, then acknowledge publishes, except that a PUBLISH to "poison/bad" gets DISCONNECT 0x95.
        async Task Session(ScriptedSession s)
        {
            s.AnswerPublish = false;
            await s.ConnackAsync();
            while (true)
            {
                var publish = await s.WaitForAsync(3);
                var topicLength = (publish.Body[0] << 8) | publish.Body[1];
                var topic = Encoding.UTF8.GetString(publish.Body, 2, topicLength);
                if (topic == "poison/bad")
                {
                    await s.SendAsync(Packet(0xE0, [0x95, 0x00]));
                    s.Close();
                    return;
                }

                await s.SendAsync(Packet(0x40, publish.Body.AsSpan(2 + topicLength, 2).ToArray(), [0x00, 0x00]));
            }
        }

        await using var broker = new ScriptedBroker(Session, Session);
        await using var connection = await MqttConnection.ConnectAsync(Options($"mqtt://127.0.0.1:{broker.Port}"));
        var rejected = new TaskCompletionSource<MqttPublishRejectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.PublishRejected += (_, e) => rejected.TrySetResult(e);
        var bad = connection.PublishAsync("poison/bad", "x"u8.ToArray(), MqttQos.AtLeastOnce);
        var good = Enumerable.Range(0, 20).Select(i => connection.PublishAsync($"poison/good/{i}", "ok"u8.ToArray(), MqttQos.AtLeastOnce)).ToList();

        var failure = await Assert.ThrowsAsync<MqttOperationException>(() => bad.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0x95, failure.ReasonCode);
        var e = await rejected.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(("poison/bad", (int?)0x95), (e.Topic, e.ReasonCode));
        await Task.WhenAll(good).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Null(broker.ScriptError);
        var badAttempts = broker.Sessions.SelectMany(s => s.Received).Count(p => p.Type == 3 && Encoding.UTF8.GetString(p.Body, 2, (p.Body[0] << 8) | p.Body[1]) == "poison/bad");
        Assert.InRange(badAttempts, 1, 2);
    }
}
