using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Connection;

/// <summary>Several servers in one address, failing over between them; and MQTT 5 server redirects, reported or followed.</summary>
public sealed class FailoverTests
{
    [Fact]
    public void An_address_can_list_failover_servers()
    {
        var options = MqttConnectionOptionsBuilder.FromAddress("mqtt://user:pw@a.example:1884,b.example,[::1]:1999?clientId=x&allowInsecureCredentials=true").Build();
        Assert.Equal(("a.example", 1884), (options.Host, options.Port));
        Assert.Equal([new DnsEndPoint("b.example", 1883), new DnsEndPoint("::1", 1999)], options.FailoverServers);
        Assert.Equal("user", options.UserName);

        var built = MqttConnectionOptionsBuilder.FromAddress("mqtts://a.example").WithFailoverServers("b.example", "c.example:9999").Build();
        Assert.Equal([new DnsEndPoint("b.example", 8883), new DnsEndPoint("c.example", 9999)], built.FailoverServers);

        var error = Assert.Throws<FormatException>(() => MqttConnectionOptionsBuilder.FromAddress("mqtt://a:1883,b:x"));
        Assert.Contains("failover server 'b:x'", error.Message, StringComparison.Ordinal);

        // A server without a port takes the scheme's default, not the main server's port.
        var custom = MqttConnectionOptionsBuilder.FromAddress("mqtt://a.example:1999").WithFailoverServers("b.example").Build();
        Assert.Equal([new DnsEndPoint("b.example", 1883)], custom.FailoverServers);
        var bad = Assert.Throws<ArgumentException>(() => MqttConnectionOptionsBuilder.FromAddress("mqtt://a").WithFailoverServers("b:0"));
        Assert.Contains("'b:0' is not host or host:port", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_redirect_is_reported_with_its_server_reference_when_not_followed()
    {
        await using var target = await EmbeddedMqttBroker.StartAsync();
        var redirector = RedirectingServer($"127.0.0.1:{target.Port}", 0x9C);
        var error = await Assert.ThrowsAsync<MqttConnectException>(() => MqttConnection.ConnectAsync($"mqtt://127.0.0.1:{redirector.Port()}"));
        Assert.Equal(0x9C, error.ReasonCode);
        Assert.Equal($"127.0.0.1:{target.Port}", error.ServerReference);
        Assert.Contains("followRedirects=1", error.Message, StringComparison.Ordinal);
        redirector.Stop();
    }

    [Theory]
    [InlineData(0x9C)]
    [InlineData(0x9D)]
    public async Task A_redirect_is_followed_when_opted_in(int reason)
    {
        await using var target = await EmbeddedMqttBroker.StartAsync();
        var redirector = RedirectingServer($"127.0.0.1:{target.Port} other.example:1883", reason);
        await using var connection = await MqttConnection.ConnectAsync($"mqtt://127.0.0.1:{redirector.Port()}?followRedirects=1");
        Assert.Equal($"mqtt://127.0.0.1:{target.Port}", connection.ConnectResult.ServerAddress);
        Assert.True(connection.IsConnected);
        redirector.Stop();
    }

    [Fact]
    public async Task A_redirect_loop_stops_at_the_limit()
    {
        // Redirects to itself: followed once (the limit), then reported.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _ = ServeRedirectsAsync(listener, $"127.0.0.1:{port}", 0x9D);
        var error = await Assert.ThrowsAsync<MqttConnectException>(() => MqttConnection.ConnectAsync($"mqtt://127.0.0.1:{port}?followRedirects=1"));
        Assert.Equal(0x9D, error.ReasonCode);
        listener.Stop();
    }

    [Fact]
    public async Task A_DISCONNECT_that_redirects_sends_the_next_attempt_to_its_server_reference()
    {
        await using var target = await EmbeddedMqttBroker.StartAsync();
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var reference = Encoding.UTF8.GetBytes($"127.0.0.1:{target.Port}");
        _ = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync();
            await socket.ReceiveAsync(new byte[4096]);
            await socket.SendAsync((byte[])[0x20, 0x03, 0x00, 0x00, 0x00]); // CONNACK, success
            await Task.Delay(200);
            byte[] properties = [0x1C, (byte)(reference.Length >> 8), (byte)reference.Length, .. reference];
            await socket.SendAsync((byte[])[0xE0, (byte)(2 + properties.Length), 0x9D, (byte)properties.Length, .. properties]); // DISCONNECT server moved
            await Task.Delay(500);
        });

        await using var connection = await MqttConnection.ConnectAsync($"mqtt://127.0.0.1:{listener.Port()}?followRedirects=1");
        var reasons = new ConcurrentQueue<string>();
        connection.StateChanged += (_, e) => reasons.Enqueue(e.Reason ?? string.Empty);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (connection.ConnectResult.ServerAddress != $"mqtt://127.0.0.1:{target.Port}" || !connection.IsConnected)
        {
            Assert.True(DateTime.UtcNow < deadline, "the connection did not move to the server reference; states: " + string.Join(" | ", reasons));
            await Task.Delay(20);
        }

        Assert.Contains(reasons, r => r.Contains($"pointing to \"127.0.0.1:{target.Port}\"", StringComparison.Ordinal));
        listener.Stop();
    }

    /// <summary>A server that answers every CONNECT with CONNACK (MQTT 5) carrying the reason and a Server Reference.</summary>
    private static TcpListener RedirectingServer(string reference, int reason)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        _ = ServeRedirectsAsync(listener, reference, reason);
        return listener;
    }

    private static async Task ServeRedirectsAsync(TcpListener listener, string reference, int reason)
    {
        try
        {
            while (true)
            {
                using var socket = await listener.AcceptSocketAsync();
                await socket.ReceiveAsync(new byte[4096]);
                var text = Encoding.UTF8.GetBytes(reference);
                byte[] properties = [0x1C, (byte)(text.Length >> 8), (byte)text.Length, .. text];
                byte[] body = [0x00, (byte)reason, (byte)properties.Length, .. properties];
                await socket.SendAsync((byte[])[0x20, (byte)body.Length, .. body]);
                await Task.Delay(100);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }
}

internal static class TcpListenerExtensions
{
    public static int Port(this TcpListener listener) => ((IPEndPoint)listener.LocalEndpoint).Port;
}

/// <summary>Failover between two Mosquittos: the first stops, the connection moves to the second and loses nothing at QoS 1.</summary>
[Collection(MosquittoCollection.Name)]
public sealed class MosquittoFailoverTests
{
    [MosquittoFact]
    public async Task When_the_first_Mosquitto_stops_the_connection_fails_over_to_the_second_and_loses_nothing_at_QoS_1()
    {
        await using var first = await MosquittoBroker.StartAsync(new MosquittoSetup { PlainOnly = true });
        await using var second = await MosquittoBroker.StartAsync(new MosquittoSetup { PlainOnly = true });
        var topic = $"failover/{Guid.NewGuid():N}";
        var received = new ConcurrentDictionary<string, string>();
        async Task<MqttConnection> Subscriber(MosquittoBroker broker, string name)
        {
            var connection = await MqttConnection.ConnectAsync(broker.TcpAddress);
            await connection.SubscribeAsync(topic, (payload, _, _) =>
            {
                received[Encoding.UTF8.GetString(payload.Span)] = name;
                return Task.CompletedTask;
            }, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce });
            return connection;
        }

        await using var onFirst = await Subscriber(first, "first");
        await using var onSecond = await Subscriber(second, "second");
        var address = $"mqtt://127.0.0.1:{first.TcpPort},127.0.0.1:{second.TcpPort}";
        await using var publisher = await MqttConnection.ConnectAsync(address);
        Assert.Equal($"mqtt://127.0.0.1:{first.TcpPort}", publisher.ConnectResult.ServerAddress);

        for (var i = 0; i < 200; i++)
        {
            await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes("a" + i), MqttQos.AtLeastOnce);
        }

        await WaitForAsync(() => received.Count >= 200);
        await first.TerminateAsync();

        // Published while the connection moves: queued, then written to the second server.
        var later = Enumerable.Range(0, 500).Select(i => publisher.PublishAsync(topic, Encoding.UTF8.GetBytes("b" + i), MqttQos.AtLeastOnce)).ToList();
        await Task.WhenAll(later).WaitAsync(TimeSpan.FromSeconds(30));
        await WaitForAsync(() => received.Count >= 700);

        Assert.Equal($"mqtt://127.0.0.1:{second.TcpPort}", publisher.ConnectResult.ServerAddress);
        Assert.Equal(200, received.Count(r => r.Key.StartsWith('a') && r.Value == "first"));
        Assert.Equal(500, received.Count(r => r.Key.StartsWith('b') && r.Value == "second"));
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting");
            await Task.Delay(20);
        }
    }
}
