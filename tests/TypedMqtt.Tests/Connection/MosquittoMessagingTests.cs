using System.Text;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Connection;

/// <summary>C10 and the v5 message properties: what a subscriber receives from Mosquitto.</summary>
[Collection(MosquittoCollection.Name)]
public sealed class MosquittoMessagingTests(MosquittoFixture fixture)
{
    private MosquittoBroker Broker => fixture.Broker;

    [MosquittoTheory]
    [InlineData("5")]
    [InlineData("3.1.1")]
    public async Task Retained_message_reaches_a_late_subscriber_flagged_as_retained(string version)
    {
        var topic = "retained/" + Guid.NewGuid().ToString("N");
        await using var publisher = await MqttConnection.ConnectAsync($"{Broker.TcpAddress}?version={version}");
        await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes("first"), MqttQos.AtLeastOnce, retain: true);
        await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes("last"), MqttQos.AtLeastOnce, retain: true);

        await using var late = await MqttConnection.ConnectAsync($"{Broker.TcpAddress}?version={version}");
        await using var probe = await MessageProbe.SubscribeAsync(late, topic);
        var retained = await probe.NextAsync();
        Assert.Equal("last", retained.Text);
        Assert.True(retained.Context.Retain);

        // A live message to an existing subscriber is not flagged retained, even when it was published with retain.
        await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes("live"), MqttQos.AtLeastOnce, retain: true);
        var live = await probe.NextAsync();
        Assert.Equal("live", live.Text);
        Assert.False(live.Context.Retain);

        await publisher.PublishAsync(topic, ReadOnlyMemory<byte>.Empty, MqttQos.AtLeastOnce, retain: true);
    }

    [MosquittoFact]
    public async Task Version5_message_properties_arrive_in_the_message_context()
    {
        var topic = "properties/" + Guid.NewGuid().ToString("N");
        await using var connection = await MqttConnection.ConnectAsync(Broker.TcpAddress);
        await using var probe = await MessageProbe.SubscribeAsync(connection, topic);
        var properties = new MqttMessageProperties
        {
            ContentType = "application/json; charset=utf-8",
            PayloadFormat = MqttPayloadFormat.Utf8,
            MessageExpiryInterval = 600,
            ResponseTopic = "replies/" + topic,
            CorrelationData = new byte[] { 0xDE, 0xAD, 0xBE, 0xEF },
            UserProperties = [new("trace", "abc"), new("trace", "def"), new("ünï", "cødé")],
        };

        await connection.PublishAsync(topic, Encoding.UTF8.GetBytes("{\"v\":1}"), MqttQos.AtLeastOnce, properties: properties);

        var message = await probe.NextAsync();
        var context = message.Context;
        Assert.Equal("{\"v\":1}", message.Text);
        Assert.Equal("application/json; charset=utf-8", context.ContentType);
        Assert.Equal(MqttPayloadFormat.Utf8, context.PayloadFormat);
        Assert.InRange(context.MessageExpiryInterval ?? 0, 595u, 600u);
        Assert.Equal("replies/" + topic, context.ResponseTopic);
        Assert.Equal(new byte[] { 0xDE, 0xAD, 0xBE, 0xEF }, context.CorrelationData.ToArray());
        Assert.Equal([new("trace", "abc"), new("trace", "def"), new("ünï", "cødé")], context.UserProperties);
        Assert.Equal("abc", context.GetUserProperty("trace"));
        Assert.Equal(MqttQos.AtLeastOnce, context.Qos);
        // Each broker subscription carries its own identifier (Mosquitto supports them), and the message names it.
        Assert.Single(context.SubscriptionIdentifiers);
    }

    [MosquittoFact]
    public async Task Message_without_properties_arrives_with_empty_properties()
    {
        var topic = "properties/none/" + Guid.NewGuid().ToString("N");
        await using var connection = await MqttConnection.ConnectAsync(Broker.TcpAddress);
        await using var probe = await MessageProbe.SubscribeAsync(connection, topic);
        await connection.PublishAsync(topic, new byte[] { 0, 1, 2 }, MqttQos.AtLeastOnce);

        var context = (await probe.NextAsync()).Context;
        Assert.Null(context.ContentType);
        Assert.Equal(MqttPayloadFormat.Unspecified, context.PayloadFormat);
        Assert.Null(context.MessageExpiryInterval);
        Assert.Null(context.ResponseTopic);
        Assert.True(context.CorrelationData.IsEmpty);
        Assert.Empty(context.UserProperties);
    }
}
