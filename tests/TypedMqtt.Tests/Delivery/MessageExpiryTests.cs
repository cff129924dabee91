using System.Collections.Concurrent;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Delivery;

/// <summary>
/// Message expiry on the client (MQTT 5 §3.3.2.3.3): a message whose interval runs out while it waits in the offline
/// queue is never sent, and one sent late carries what is left of its interval. Against Mosquitto, which forwards the
/// interval it received less its own (here negligible) wait.
/// </summary>
[Collection(MosquittoCollection.Name)]
public sealed class MessageExpiryTests(MosquittoFixture mosquitto)
{
    [MosquittoTheory]
    [InlineData(MqttQos.AtMostOnce)]
    [InlineData(MqttQos.AtLeastOnce)]
    [InlineData(MqttQos.ExactlyOnce)]
    public async Task A_message_that_expires_in_the_offline_queue_is_not_sent_and_a_late_one_carries_the_remaining_interval(MqttQos qos)
    {
        var topic = $"expiry/{qos}/{Guid.NewGuid():N}";
        await using var subscriber = await MqttConnection.ConnectAsync(mosquitto.Broker.TcpAddress);
        var arrived = new ConcurrentQueue<(string Payload, uint? Expiry)>();
        await using var subscription = await subscriber.SubscribeAsync(topic + "/#", (payload, context, _) =>
        {
            arrived.Enqueue((System.Text.Encoding.UTF8.GetString(payload.Span), context.MessageExpiryInterval));
            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = MqttQos.ExactlyOnce });

        // Created, not opened: publishes wait in the offline queue, as they do while a connection is down.
        await using var publisher = MqttConnection.Create(MqttConnectionOptionsBuilder.FromAddress(mosquitto.Broker.TcpAddress).Build());
        var shortLived = publisher.PublishAsync(topic + "/short", "short"u8.ToArray(), qos, properties: new MqttMessageProperties { MessageExpiryInterval = 1 });
        var longLived = publisher.PublishAsync(topic + "/long", "long"u8.ToArray(), qos, properties: new MqttMessageProperties { MessageExpiryInterval = 10 });
        var forever = publisher.PublishAsync(topic + "/forever", "forever"u8.ToArray(), qos);
        await Task.Delay(2300);
        await publisher.OpenAsync();

        var expired = await Assert.ThrowsAsync<MqttOperationException>(() => shortLived.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("expired before it could be sent", expired.Message, StringComparison.Ordinal);
        Assert.Contains("message expiry interval is 1 s. It was not sent.", expired.Message, StringComparison.Ordinal);
        await longLived.WaitAsync(TimeSpan.FromSeconds(10));
        await forever.WaitAsync(TimeSpan.FromSeconds(10));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (arrived.Count < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await Task.Delay(300); // anything else would have arrived by now
        var messages = arrived.ToArray();
        Assert.Equal(["long", "forever"], messages.Select(m => m.Payload).Order(StringComparer.Ordinal).Reverse());
        var late = Assert.Single(messages, m => m.Payload == "long");
        Assert.InRange(late.Expiry ?? 0, 1u, 8u); // 10 s less the 2.3 s it waited (Mosquitto may take off a second more)
        Assert.Null(Assert.Single(messages, m => m.Payload == "forever").Expiry);
        Assert.Equal(1, publisher.Statistics.Dropped);
    }
}
