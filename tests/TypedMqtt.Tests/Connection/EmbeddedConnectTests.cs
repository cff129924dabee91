using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MQTTnet.Protocol;
using MQTTnet.Server;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Connection;

/// <summary>C1, C2, C9, C13 against MQTTnet's server, where the test can see and shape CONNECT and CONNACK.</summary>
public sealed class EmbeddedConnectTests
{
    [Fact]
    public async Task Every_version5_connect_property_reaches_the_server()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        var seen = new TaskCompletionSource<ValidatingConnectionEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        broker.Server.ValidatingConnectionAsync += e =>
        {
            // Server-side authentication data in CONNACK, to see it reach ConnectResult.
            e.ResponseAuthenticationData = [9, 9];
            seen.TrySetResult(e);
            return Task.CompletedTask;
        };

        var will = new MqttWill("devices/d1/status", Encoding.UTF8.GetBytes("offline"))
        {
            Qos = MqttQos.AtLeastOnce,
            Retain = true,
            DelayInterval = 5,
            Properties = new MqttMessageProperties
            {
                ContentType = "text/plain",
                PayloadFormat = MqttPayloadFormat.Utf8,
                MessageExpiryInterval = 3600,
                ResponseTopic = "devices/d1/ack",
                CorrelationData = new byte[] { 7, 7 },
                UserProperties = [new("site", "north")],
            },
        };
        await using var connection = await MqttConnection.ConnectAsync(
            $"{broker.Address}?clientId=props-1&keepAlive=42&cleanStart=false&sessionExpiry=900&receiveMaximum=17&maximumPacketSize=65000" +
            "&topicAliasMaximum=9&requestResponseInformation=true&requestProblemInformation=false",
            b => b.WithUserProperty("app", "typedmqtt").WithUserProperty("app", "second")
                  .WithAuthentication("TOKEN", new byte[] { 1, 2, 3 })
                  .WithWill(will));

        var e = await seen.Task.WaitAsync(MessageProbe.DefaultWait);
        Assert.Equal("props-1", e.ClientId);
        Assert.Equal(MQTTnet.Formatter.MqttProtocolVersion.V500, e.ProtocolVersion);
        Assert.Equal((ushort)42, e.KeepAlivePeriod);
        Assert.False(e.CleanSession);
        Assert.Equal(900u, e.SessionExpiryInterval);
        Assert.Equal((ushort)17, e.ReceiveMaximum);
        Assert.Equal(65000u, e.MaximumPacketSize);
        Assert.Equal((ushort)9, e.TopicAliasMaximum);
        Assert.True(e.RequestResponseInformation);
        Assert.False(e.RequestProblemInformation);
        Assert.Equal(["app=typedmqtt", "app=second"], e.UserProperties.Select(p => p.Name + "=" + MQTTnet.Packets.MqttUserPropertyExtensions.ReadValueAsString(p)));
        Assert.Equal("TOKEN", e.AuthenticationMethod);
        Assert.Equal(new byte[] { 1, 2, 3 }, e.AuthenticationData);
        Assert.Equal(5u, e.WillDelayInterval);

        // MQTTnet's server does not pass CONNECT through its packet interceptors; the will's topic, payload and v5
        // properties are checked where the broker publishes it (EmbeddedConnectTests.Will_*, MosquittoWillTests).
        Assert.Equal("TOKEN", connection.ConnectResult.AuthenticationMethod);
        Assert.Equal(new byte[] { 9, 9 }, connection.ConnectResult.AuthenticationData.ToArray());
    }

    [Fact]
    public async Task Version311_connect_sends_no_version5_properties()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        var seen = new TaskCompletionSource<ValidatingConnectionEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        broker.Server.ValidatingConnectionAsync += e =>
        {
            seen.TrySetResult(e);
            return Task.CompletedTask;
        };

        await using var connection = await MqttConnection.ConnectAsync($"{broker.Address}?version=3.1.1&clientId=old-1&cleanSession=false&keepAlive=0");
        var e = await seen.Task.WaitAsync(MessageProbe.DefaultWait);
        Assert.Equal(MQTTnet.Formatter.MqttProtocolVersion.V311, e.ProtocolVersion);
        Assert.False(e.CleanSession);
        Assert.Equal((ushort)0, e.KeepAlivePeriod);
        Assert.Equal(0u, e.SessionExpiryInterval);
        Assert.Empty(e.UserProperties ?? []);
        Assert.Null(e.UserName);
    }

    [Fact]
    public async Task Connack_fields_set_by_the_server_reach_connect_result()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        broker.Server.ValidatingConnectionAsync += e =>
        {
            e.AssignedClientIdentifier = "server-chose-this";
            e.ResponseUserProperties = [new MQTTnet.Packets.MqttUserProperty("region", new ReadOnlyMemory<byte>(Encoding.UTF8.GetBytes("eu-1")))];
            return Task.CompletedTask;
        };
        broker.Server.InterceptingOutboundPacketAsync += e =>
        {
            if (e.Packet is MQTTnet.Packets.MqttConnAckPacket connAck)
            {
                connAck.ServerKeepAlive = 15;
                connAck.MaximumQoS = MqttQualityOfServiceLevel.AtLeastOnce;
                connAck.RetainAvailable = false;
                connAck.MaximumPacketSize = 4096;
                connAck.TopicAliasMaximum = 3;
                connAck.ReceiveMaximum = 5;
                connAck.WildcardSubscriptionAvailable = false;
                connAck.SharedSubscriptionAvailable = false;
                connAck.SubscriptionIdentifiersAvailable = false;
                connAck.ResponseInformation = "responses/";
                connAck.ReasonString = "welcome";
                connAck.SessionExpiryInterval = 77;
            }

            return Task.CompletedTask;
        };

        await using var connection = await MqttConnection.ConnectAsync($"{broker.Address}?requestResponseInformation=true");
        var result = connection.ConnectResult;
        Assert.Equal("server-chose-this", result.AssignedClientId);
        Assert.Equal("server-chose-this", result.ClientId);
        Assert.Equal([new TypedMqtt.MqttUserProperty("region", "eu-1")], result.UserProperties);
        Assert.Equal(TimeSpan.FromSeconds(15), result.ServerKeepAlive);
        Assert.Equal(MqttQos.AtLeastOnce, result.MaximumQos);
        Assert.False(result.RetainAvailable);
        Assert.Equal(4096u, result.MaximumPacketSize);
        Assert.Equal((ushort)3, result.TopicAliasMaximum);
        Assert.Equal((ushort)5, result.ReceiveMaximum);
        Assert.False(result.WildcardSubscriptionAvailable);
        Assert.False(result.SharedSubscriptionAvailable);
        Assert.False(result.SubscriptionIdentifiersAvailable);
        Assert.Equal("responses/", result.ResponseInformation);
        Assert.Equal("welcome", result.ReasonString);
        Assert.Equal(77u, result.SessionExpiryInterval);
    }

    [Fact]
    public async Task Wrong_password_is_refused_with_bad_user_name_or_password()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync(users: new Dictionary<string, string> { ["bob"] = "right" });
        var address = $"mqtt://bob:wrong@127.0.0.1:{broker.Port}?allowInsecureCredentials=true";
        var error = await Assert.ThrowsAsync<MqttConnectException>(() => MqttConnection.ConnectAsync(address));
        Assert.Equal(MqttConnectFailure.Refused, error.Failure);
        Assert.Equal(0x86, error.ReasonCode);
        Assert.Contains("user name or password is wrong", error.Message, StringComparison.Ordinal);
        Assert.Contains($"mqtt://127.0.0.1:{broker.Port}", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong", error.Message.Replace("is wrong", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);

        await using var ok = await MqttConnection.ConnectAsync(address.Replace(":wrong@", ":right@", StringComparison.Ordinal));
        Assert.True(ok.IsConnected);
    }

    [Theory]
    [InlineData(MqttConnectReasonCode.NotAuthorized, 0x87, "not authorized")]
    [InlineData(MqttConnectReasonCode.ClientIdentifierNotValid, 0x85, "rejected the client id")]
    [InlineData(MqttConnectReasonCode.ServerUnavailable, 0x88, "unavailable")]
    [InlineData(MqttConnectReasonCode.UnsupportedProtocolVersion, 0x84, "does not support the requested MQTT version")]
    [InlineData(MqttConnectReasonCode.Banned, 0x8A, "banned")]
    [InlineData(MqttConnectReasonCode.QuotaExceeded, 0x97, "quota")]
    [InlineData(MqttConnectReasonCode.ServerBusy, 0x89, "busy")]
    public async Task Refusal_surfaces_as_one_exception_with_its_reason_code_and_a_sentence(MqttConnectReasonCode code, int expected, string words)
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        broker.Server.ValidatingConnectionAsync += e =>
        {
            e.ReasonCode = code;
            e.ReasonString = "policy 42";
            return Task.CompletedTask;
        };

        var error = await Assert.ThrowsAsync<MqttConnectException>(() => MqttConnection.ConnectAsync(broker.Address));
        Assert.Equal(MqttConnectFailure.Refused, error.Failure);
        Assert.Equal(expected, error.ReasonCode);
        Assert.Contains(words, error.Message, StringComparison.Ordinal);
        Assert.Equal("policy 42", error.ServerReason);
        Assert.Contains("policy 42", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refusal_on_version311_maps_the_return_code_to_the_version5_reason()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        broker.Server.ValidatingConnectionAsync += e =>
        {
            e.ReasonCode = MqttConnectReasonCode.ClientIdentifierNotValid;
            return Task.CompletedTask;
        };

        var error = await Assert.ThrowsAsync<MqttConnectException>(() => MqttConnection.ConnectAsync($"{broker.Address}?version=3.1.1"));
        Assert.Equal(MqttConnectFailure.Refused, error.Failure);
        Assert.Equal(0x85, error.ReasonCode);
    }

    [Fact]
    public async Task Connect_timeout_against_a_listener_that_never_answers()
    {
        await using var silent = new SilentListener();
        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<MqttConnectException>(() => MqttConnection.ConnectAsync($"mqtt://127.0.0.1:{silent.Port}?connectTimeout=1"));
        clock.Stop();

        Assert.Equal(MqttConnectFailure.Timeout, error.Failure);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(3));
        Assert.Contains($"mqtt://127.0.0.1:{silent.Port}", error.Message, StringComparison.Ordinal);
        Assert.Contains("1 s", error.Message, StringComparison.Ordinal);
        Assert.True(silent.FirstConnection.Task.IsCompleted, "the TCP connection was never opened");

        // The socket is closed, not left dangling.
        await silent.ClientClosed.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Nothing_listening_is_a_transport_failure_that_names_the_address()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var error = await Assert.ThrowsAsync<MqttConnectException>(() => MqttConnection.ConnectAsync($"mqtt://127.0.0.1:{port}"));
        Assert.Equal(MqttConnectFailure.Transport, error.Failure);
        Assert.Contains($"mqtt://127.0.0.1:{port}", error.Message, StringComparison.Ordinal);

        // Also over TLS: a refused TCP connect is not mistaken for a mutual TLS refusal.
        var tls = await Assert.ThrowsAsync<MqttConnectException>(() => MqttConnection.ConnectAsync($"mqtts://127.0.0.1:{port}"));
        Assert.Equal(MqttConnectFailure.Transport, tls.Failure);
        Assert.DoesNotContain("client certificate", tls.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_server_that_hangs_up_after_the_handshake_is_reported_as_a_probable_client_certificate_refusal()
    {
        // What a broker requiring client certificates looks like to a client without one, made deterministic: the
        // handshake completes, then the server closes before CONNACK.
        var directory = Path.Combine(Path.GetTempPath(), "typedmqtt-hangup-" + Guid.NewGuid().ToString("N")[..8]);
        var certificates = TestCertificates.Create(directory);
        using var server = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(certificates.ServerCertificateFile, certificates.ServerKeyFile);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serverSide = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync();
            await using var tls = new System.Net.Security.SslStream(socket.GetStream());
            await tls.AuthenticateAsServerAsync(server);
        });

        try
        {
            var error = await Assert.ThrowsAsync<MqttConnectException>(() =>
                MqttConnection.ConnectAsync($"mqtts://localhost:{port}?connectTimeout=5", b => b.WithCaCertificatePem(certificates.CaPem)));
            await serverSide.WaitAsync(MessageProbe.DefaultWait);
            Assert.True(error.Failure == MqttConnectFailure.Tls, error.ToString());
            Assert.Contains("requires a client certificate", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Will_is_published_by_the_embedded_broker_when_the_connection_drops()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var observer = await MqttConnection.ConnectAsync(broker.Address);
        await using var probe = await MessageProbe.SubscribeAsync(observer, "embedded/will");
        await using var proxy = new TcpProxy(broker.Port);
        await using var client = await MqttConnection.ConnectAsync(
            $"mqtt://127.0.0.1:{proxy.Port}",
            b => b.WithWill(new MqttWill("embedded/will", Encoding.UTF8.GetBytes("dropped")) { Properties = new MqttMessageProperties { ContentType = "text/plain" } })
                  .Configure(o => o with { Reconnect = MqttReconnectOptions.Disabled }));

        proxy.Cut();

        var message = await probe.NextAsync();
        Assert.Equal("dropped", message.Text);
        Assert.Equal("text/plain", message.Context.ContentType);
    }

    [Fact]
    public async Task Will_is_not_published_by_the_embedded_broker_on_a_normal_disconnect()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var observer = await MqttConnection.ConnectAsync(broker.Address);
        await using var probe = await MessageProbe.SubscribeAsync(observer, "embedded/will2");
        var client = await MqttConnection.ConnectAsync(broker.Address, b => b.WithWill(new MqttWill("embedded/will2", Encoding.UTF8.GetBytes("must not appear"))));
        await client.DisposeAsync();

        await probe.AssertNothingAsync(TimeSpan.FromSeconds(1));
        await observer.PublishAsync("embedded/will2", Encoding.UTF8.GetBytes("sentinel"), MqttQos.AtLeastOnce);
        Assert.Equal("sentinel", (await probe.NextAsync()).Text);
    }
}
