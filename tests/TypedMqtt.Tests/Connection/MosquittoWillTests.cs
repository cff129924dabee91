using System.Text;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Connection;

/// <summary>C9: Mosquitto publishes the will when the client vanishes or disconnects with 0x04, not on a normal disconnect.</summary>
[Collection(MosquittoCollection.Name)]
public sealed class MosquittoWillTests(MosquittoFixture fixture)
{
    private MosquittoBroker Broker => fixture.Broker;

    [MosquittoTheory]
    [InlineData("5")]
    [InlineData("3.1.1")]
    public async Task Will_is_published_when_the_connection_drops_abruptly(string version)
    {
        var topic = "will/drop/" + Guid.NewGuid().ToString("N");
        await using var observer = await MqttConnection.ConnectAsync(Broker.TcpAddress);
        await using var probe = await MessageProbe.SubscribeAsync(observer, topic);
        await using var proxy = new TcpProxy(Broker.TcpPort);

        var will = new MqttWill(topic, Encoding.UTF8.GetBytes("gone")) { Qos = MqttQos.AtLeastOnce };
        if (version == "5")
        {
            will = will with
            {
                Properties = new MqttMessageProperties
                {
                    ContentType = "text/plain",
                    PayloadFormat = MqttPayloadFormat.Utf8,
                    ResponseTopic = "will/answers",
                    CorrelationData = new byte[] { 1, 2, 3 },
                    MessageExpiryInterval = 120,
                    UserProperties = [new("reason", "power"), new("reason", "cut")],
                },
            };
        }

        await using var client = await MqttConnection.ConnectAsync(
            $"mqtt://127.0.0.1:{proxy.Port}?version={version}",
            b => b.WithWill(will).Configure(o => o with { Reconnect = MqttReconnectOptions.Disabled }));
        var lost = new TaskCompletionSource<MqttConnectionStateChangedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.StateChanged += (_, e) =>
        {
            if (e.Current == MqttConnectionState.Disconnected)
            {
                lost.TrySetResult(e);
            }
        };

        proxy.Cut();

        var message = await probe.NextAsync();
        Assert.Equal(topic, message.Topic);
        Assert.Equal("gone", message.Text);
        Assert.Equal(MqttQos.AtLeastOnce, message.Context.Qos);
        if (version == "5")
        {
            Assert.Equal("text/plain", message.Context.ContentType);
            Assert.Equal(MqttPayloadFormat.Utf8, message.Context.PayloadFormat);
            Assert.Equal("will/answers", message.Context.ResponseTopic);
            Assert.Equal(new byte[] { 1, 2, 3 }, message.Context.CorrelationData.ToArray());
            Assert.InRange(message.Context.MessageExpiryInterval ?? 0, 100u, 120u);
            Assert.Equal([new("reason", "power"), new("reason", "cut")], message.Context.UserProperties);
        }

        // The client notices too.
        await lost.Task.WaitAsync(MessageProbe.DefaultWait);
        Assert.False(client.IsConnected);
    }

    [MosquittoTheory]
    [InlineData("5")]
    [InlineData("3.1.1")]
    public async Task Will_is_published_on_disconnect_with_will(string version)
    {
        var topic = "will/0x04/" + Guid.NewGuid().ToString("N");
        await using var observer = await MqttConnection.ConnectAsync(Broker.TcpAddress);
        await using var probe = await MessageProbe.SubscribeAsync(observer, topic);
        var client = await MqttConnection.ConnectAsync($"{Broker.TcpAddress}?version={version}", b => b.WithWill(new MqttWill(topic, Encoding.UTF8.GetBytes("bye with will"))));

        await client.DisconnectWithWillAsync();
        Assert.Equal(MqttConnectionState.Closed, client.State);
        await client.DisposeAsync();

        Assert.Equal("bye with will", (await probe.NextAsync()).Text);
        if (version == "5")
        {
            // Mosquitto logs the DISCONNECT reason; 0x04 is what made it publish the will (not a dropped socket).
            Assert.Contains($"Received DISCONNECT from {client.Options.ClientId}", Broker.Log, StringComparison.Ordinal);
        }
    }

    [MosquittoTheory]
    [InlineData("5")]
    [InlineData("3.1.1")]
    public async Task Will_is_not_published_on_a_normal_disconnect(string version)
    {
        var topic = "will/normal/" + Guid.NewGuid().ToString("N");
        await using var observer = await MqttConnection.ConnectAsync(Broker.TcpAddress);
        await using var probe = await MessageProbe.SubscribeAsync(observer, topic);
        var client = await MqttConnection.ConnectAsync($"{Broker.TcpAddress}?version={version}", b => b.WithWill(new MqttWill(topic, Encoding.UTF8.GetBytes("must not appear"))));

        await client.DisconnectAsync();
        await client.DisposeAsync();

        await probe.AssertNothingAsync(TimeSpan.FromSeconds(1));
        await observer.PublishAsync(topic, Encoding.UTF8.GetBytes("sentinel"), MqttQos.AtLeastOnce);
        Assert.Equal("sentinel", (await probe.NextAsync()).Text);
    }

    [MosquittoFact]
    public async Task Retained_will_reaches_a_late_subscriber()
    {
        var topic = "will/retained/" + Guid.NewGuid().ToString("N");
        await using var proxy = new TcpProxy(Broker.TcpPort);
        await using (var client = await MqttConnection.ConnectAsync(
            $"mqtt://127.0.0.1:{proxy.Port}",
            b => b.WithWill(new MqttWill(topic, Encoding.UTF8.GetBytes("offline")) { Retain = true, Qos = MqttQos.AtLeastOnce })
                  .Configure(o => o with { Reconnect = MqttReconnectOptions.Disabled })))
        {
            var watcher = await MqttConnection.ConnectAsync(Broker.TcpAddress);
            await using (watcher)
            {
                await using var live = await MessageProbe.SubscribeAsync(watcher, topic);
                proxy.Cut();
                Assert.Equal("offline", (await live.NextAsync()).Text);
            }
        }

        await using var late = await MqttConnection.ConnectAsync(Broker.TcpAddress);
        await using var probe = await MessageProbe.SubscribeAsync(late, topic);
        var message = await probe.NextAsync();
        Assert.Equal("offline", message.Text);
        Assert.True(message.Context.Retain);
        await late.PublishAsync(topic, ReadOnlyMemory<byte>.Empty, MqttQos.AtLeastOnce, retain: true);
    }
}
