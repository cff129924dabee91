using System.Text;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Connection;

/// <summary>A Mosquitto whose global limits show up in CONNACK (they apply to every listener, hence its own instance).</summary>
public sealed class RestrictedMosquittoFixture : IAsyncLifetime
{
    private MosquittoBroker? _broker;

    public MosquittoBroker Broker => _broker ?? throw new InvalidOperationException(MosquittoBroker.InstallHint);

    public async Task InitializeAsync()
    {
        if (MosquittoBroker.FindBinary() is not null || MosquittoBroker.IsRequired)
        {
            _broker = await MosquittoBroker.StartAsync(new MosquittoSetup
            {
                PlainOnly = true,
                GlobalConfig = "max_keepalive 30\nmax_packet_size 2000\nretain_available false\nmax_inflight_messages 12",
                PlainListenerConfig = "max_qos 1\nmax_topic_alias 7",
            });
        }
    }

    public async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }
    }
}

/// <summary>C7, C13: what Mosquitto says in CONNACK reaches ConnectResult and is respected by publish.</summary>
public sealed class MosquittoConnAckTests(RestrictedMosquittoFixture fixture) : IClassFixture<RestrictedMosquittoFixture>
{
    private MosquittoBroker Broker => fixture.Broker;

    [MosquittoFact]
    public async Task Server_limits_from_connack_reach_connect_result()
    {
        await using var connection = await MqttConnection.ConnectAsync($"{Broker.TcpAddress}?keepAlive=60");
        var result = connection.ConnectResult;
        Assert.Equal(TimeSpan.FromSeconds(30), result.ServerKeepAlive);
        Assert.Equal(MqttQos.AtLeastOnce, result.MaximumQos);
        Assert.False(result.RetainAvailable);
        Assert.Equal(2000u, result.MaximumPacketSize);
        Assert.Equal((ushort)7, result.TopicAliasMaximum);
        Assert.Equal((ushort)12, result.ReceiveMaximum);
        Assert.False(result.IsSessionPresent);
        Assert.Null(result.AssignedClientId);
        Assert.Equal(connection.Options.ClientId, result.ClientId);
    }

    [MosquittoFact]
    public async Task Default_mosquitto_limits_are_the_protocol_defaults()
    {
        // Contrast for the test above: the shared broker has no limits, so the same fields hold the defaults.
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoSetup { PlainOnly = true });
        await using var connection = await MqttConnection.ConnectAsync($"{broker.TcpAddress}?keepAlive=60");
        var result = connection.ConnectResult;
        Assert.Null(result.ServerKeepAlive);
        Assert.Equal(MqttQos.ExactlyOnce, result.MaximumQos);
        Assert.True(result.RetainAvailable);
        Assert.Null(result.MaximumPacketSize);
    }

    [MosquittoFact]
    public async Task Publish_beyond_the_servers_limits_is_refused_locally_and_the_connection_survives()
    {
        await using var connection = await MqttConnection.ConnectAsync(Broker.TcpAddress);
        var topic = "limits/" + connection.Options.ClientId;
        await using var probe = await MessageProbe.SubscribeAsync(connection, topic);

        var qos = await Assert.ThrowsAsync<MqttOperationException>(() => connection.PublishAsync(topic, new byte[1], MqttQos.ExactlyOnce));
        Assert.Equal(0x9B, qos.ReasonCode);
        var retain = await Assert.ThrowsAsync<MqttOperationException>(() => connection.PublishAsync(topic, new byte[1], MqttQos.AtLeastOnce, retain: true));
        Assert.Equal(0x9A, retain.ReasonCode);
        var size = await Assert.ThrowsAsync<MqttOperationException>(() => connection.PublishAsync(topic, new byte[3000], MqttQos.AtLeastOnce));
        Assert.Equal(0x95, size.ReasonCode);

        // Mosquitto would have disconnected us for any of those; the connection is intact and still carries messages.
        await connection.PublishAsync(topic, Encoding.UTF8.GetBytes("within limits"), MqttQos.AtLeastOnce);
        Assert.Equal("within limits", (await probe.NextAsync()).Text);
        Assert.True(connection.IsConnected);
    }
}
