using System.Text;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Connection;

/// <summary>C8, C12: persistent sessions keep subscriptions and offline QoS 1 messages; clean ones do not.</summary>
[Collection(MosquittoCollection.Name)]
public sealed class MosquittoSessionTests(MosquittoFixture fixture)
{
    private MosquittoBroker Broker => fixture.Broker;

    [MosquittoTheory]
    [InlineData("5", "&sessionExpiry=300")]
    [InlineData("5", "&sessionExpiry=never")]
    [InlineData("3.1.1", "")]
    public async Task Persistent_session_receives_qos1_messages_sent_while_it_was_away(string version, string expiry)
    {
        var clientId = "persist-" + Guid.NewGuid().ToString("N")[..10];
        var topic = $"session/{clientId}";
        var address = $"mqtt://127.0.0.1:{Broker.TcpPort}?clientId={clientId}&cleanStart=false&version={version}{expiry}";
        await using (var first = await MqttConnection.ConnectAsync(address))
        {
            Assert.False(first.ConnectResult.IsSessionPresent);
            await using var subscription = await MessageProbe.SubscribeAsync(first, topic);
            await first.DisconnectAsync();
        }

        await using (var publisher = await MqttConnection.ConnectAsync(Broker.TcpAddress))
        {
            await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes("while away 1"), MqttQos.AtLeastOnce);
            await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes("while away 2"), MqttQos.AtLeastOnce);
        }

        await using var second = await MqttConnection.ConnectAsync(address);
        Assert.True(second.ConnectResult.IsSessionPresent);

        // An application subscribes some time after connecting; the queued messages arrive right after CONNACK.
        await Task.Delay(300);
        await using var probe = await MessageProbe.SubscribeAsync(second, topic);
        Assert.Equal("while away 1", (await probe.NextAsync()).Text);
        Assert.Equal("while away 2", (await probe.NextAsync()).Text);
    }

    [MosquittoTheory]
    [InlineData("5", "&sessionExpiry=300")]
    [InlineData("3.1.1", "")]
    public async Task Clean_start_discards_the_session_and_its_queued_messages(string version, string expiry)
    {
        var clientId = "clean-" + Guid.NewGuid().ToString("N")[..10];
        var topic = $"session/{clientId}";
        var persistent = $"mqtt://127.0.0.1:{Broker.TcpPort}?clientId={clientId}&cleanStart=false&version={version}{expiry}";
        await using (var first = await MqttConnection.ConnectAsync(persistent))
        {
            await using var subscription = await MessageProbe.SubscribeAsync(first, topic);
            await first.DisconnectAsync();
        }

        await using var publisher = await MqttConnection.ConnectAsync(Broker.TcpAddress);
        await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes("queued for the old session"), MqttQos.AtLeastOnce);

        await using var second = await MqttConnection.ConnectAsync(persistent.Replace("cleanStart=false", "cleanStart=true", StringComparison.Ordinal));
        Assert.False(second.ConnectResult.IsSessionPresent);
        await using var probe = await MessageProbe.SubscribeAsync(second, topic);
        await probe.AssertNothingAsync(TimeSpan.FromSeconds(1));

        // The subscription itself works: a message published now arrives, and it is the first one.
        await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes("fresh"), MqttQos.AtLeastOnce);
        Assert.Equal("fresh", (await probe.NextAsync()).Text);
    }

    [MosquittoFact]
    public async Task Session_expiry_zero_ends_the_session_with_the_connection()
    {
        var clientId = "expiry0-" + Guid.NewGuid().ToString("N")[..10];
        var address = $"mqtt://127.0.0.1:{Broker.TcpPort}?clientId={clientId}&cleanStart=false&sessionExpiry=0";
        await using (var first = await MqttConnection.ConnectAsync(address))
        {
            await using var subscription = await MessageProbe.SubscribeAsync(first, "session/" + clientId);
            await first.DisconnectAsync();
        }

        await using var second = await MqttConnection.ConnectAsync(address);
        Assert.False(second.ConnectResult.IsSessionPresent);
    }

    [MosquittoFact]
    public async Task Resumed_session_keeps_its_broker_subscription()
    {
        // The subscription survives on the broker: a message sent while away arrives, although the second connection
        // only registers a local handler (the SUBSCRIBE it sends is idempotent).
        var clientId = "resume-" + Guid.NewGuid().ToString("N")[..10];
        var address = $"mqtt://127.0.0.1:{Broker.TcpPort}?clientId={clientId}&cleanStart=false&sessionExpiry=60";
        await using (var first = await MqttConnection.ConnectAsync(address))
        {
            await using var subscription = await MessageProbe.SubscribeAsync(first, $"session/{clientId}/#");
            await first.DisconnectAsync();
        }

        await using (var publisher = await MqttConnection.ConnectAsync(Broker.TcpAddress))
        {
            await publisher.PublishAsync($"session/{clientId}/a/b", Encoding.UTF8.GetBytes("away"), MqttQos.AtLeastOnce);
        }

        await using var second = await MqttConnection.ConnectAsync(address);
        Assert.True(second.ConnectResult.IsSessionPresent);
        await using var probe = await MessageProbe.SubscribeAsync(second, $"session/{clientId}/a/+");
        var message = await probe.NextAsync();
        Assert.Equal($"session/{clientId}/a/b", message.Topic);
        Assert.Equal("away", message.Text);
    }
}
