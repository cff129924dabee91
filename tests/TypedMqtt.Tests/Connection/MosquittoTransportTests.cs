using System.Text;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Connection;

/// <summary>C3, C11, C14, C15: every transport and protocol version connects to Mosquitto and carries a message.</summary>
[Collection(MosquittoCollection.Name)]
public sealed class MosquittoTransportTests(MosquittoFixture fixture)
{
    private MosquittoBroker Broker => fixture.Broker;

    private TestCertificates Certificates => fixture.Certificates;

    [MosquittoFact]
    public Task Tcp_connects_and_exchanges_a_message() =>
        AssertRoundTripAsync($"mqtt://127.0.0.1:{Broker.TcpPort}", null);

    [MosquittoFact]
    public Task WebSocket_connects_and_exchanges_a_message() =>
        AssertRoundTripAsync($"ws://127.0.0.1:{Broker.WebSocketPort}", null);

    [MosquittoFact]
    public Task Tls_connects_and_exchanges_a_message() =>
        AssertRoundTripAsync($"mqtts://localhost:{Broker.TlsPort}", b => b.WithCaCertificatePem(Certificates.CaPem));

    [MosquittoFact]
    public Task SecureWebSocket_connects_and_exchanges_a_message() =>
        AssertRoundTripAsync($"wss://localhost:{Broker.SecureWebSocketPort}/mqtt", b => b.WithCaCertificatePem(Certificates.CaPem));

    [MosquittoFact]
    public Task MutualTls_with_pem_client_certificate_connects_and_exchanges_a_message() =>
        AssertRoundTripAsync(
            $"mqtts://127.0.0.1:{Broker.MutualTlsPort}",
            b => b.WithCaCertificatePem(Certificates.CaPem).WithClientCertificatePem(Certificates.ClientCertificatePem, Certificates.ClientKeyPem));

    [MosquittoFact]
    public Task MutualTls_with_pfx_client_certificate_connects_and_exchanges_a_message() =>
        AssertRoundTripAsync(
            $"mqtts://localhost:{Broker.MutualTlsPort}",
            b => b.WithCaCertificatePem(Certificates.CaPem).WithClientCertificatePfx(Certificates.ClientPfxFile, TestCertificates.PfxPassword));

    [MosquittoFact]
    public Task MutualTls_with_certificate_files_in_the_address_connects() =>
        AssertRoundTripAsync(
            $"mqtts://localhost:{Broker.MutualTlsPort}?caFile={Uri.EscapeDataString(Certificates.CaFile)}" +
            $"&certFile={Uri.EscapeDataString(Certificates.ClientCertificateFile)}&keyFile={Uri.EscapeDataString(Certificates.ClientKeyFile)}",
            null);

    [MosquittoTheory]
    [InlineData("3.1")]
    [InlineData("3.1.1")]
    [InlineData("5")]
    public async Task Each_protocol_version_connects_and_exchanges_a_message(string version)
    {
        await using var connection = await MqttConnection.ConnectAsync($"mqtt://127.0.0.1:{Broker.TcpPort}?version={version}");
        Assert.Equal(version switch { "3.1" => MqttVersion.V310, "3.1.1" => MqttVersion.V311, _ => MqttVersion.V500 }, connection.Options.ProtocolVersion);
        await AssertExchangeAsync(connection);
        var log = Broker.Log;
        // Mosquitto logs its internal protocol enum: p1 = 3.1, p2 = 3.1.1, p5 = 5.0.
        var expected = version switch { "3.1" => "p1", "3.1.1" => "p2", _ => "p5" };
        Assert.Contains($"New client connected from 127.0.0.1:", log);
        Assert.Contains($"as {connection.Options.ClientId} ({expected},", log);
    }

    [MosquittoFact]
    public async Task Correct_password_is_accepted_and_mosquitto_sees_the_user()
    {
        var address = $"mqtt://{MosquittoBroker.UserName}:{Uri.EscapeDataString(MosquittoBroker.Password)}@127.0.0.1:{Broker.PasswordPort}?allowInsecureCredentials=true";
        await using var connection = await MqttConnection.ConnectAsync(address);
        await AssertExchangeAsync(connection);
        Assert.Contains($"as {connection.Options.ClientId} (p5, c1, k60, u'{MosquittoBroker.UserName}')", Broker.Log);
    }

    [MosquittoFact]
    public async Task Anonymous_client_is_refused_by_the_password_listener()
    {
        var error = await Assert.ThrowsAsync<MqttConnectException>(() => MqttConnection.ConnectAsync($"mqtt://127.0.0.1:{Broker.PasswordPort}"));
        Assert.Equal(MqttConnectFailure.Refused, error.Failure);
        Assert.Equal(0x87, error.ReasonCode);
    }

    // Mosquitto 2.0.11 answers a wrong password with 0x87 Not authorized (3.1.1: return code 5), not 0x86; the embedded
    // broker test covers 0x86. What matters here is that the refusal surfaces as a Refused MqttConnectException with its code.
    [MosquittoTheory]
    [InlineData("5")]
    [InlineData("3.1.1")]
    public async Task Wrong_password_is_refused_with_mosquittos_not_authorized(string version)
    {
        var address = $"mqtt://{MosquittoBroker.UserName}:wrong@127.0.0.1:{Broker.PasswordPort}?allowInsecureCredentials=true&version={version}";
        var error = await Assert.ThrowsAsync<MqttConnectException>(() => MqttConnection.ConnectAsync(address));
        Assert.Equal(MqttConnectFailure.Refused, error.Failure);
        Assert.Equal(0x87, error.ReasonCode);
        Assert.Contains("not authorized", error.Message, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{Broker.PasswordPort}", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong@", error.Message, StringComparison.Ordinal);
    }

    private static async Task AssertRoundTripAsync(string address, Action<MqttConnectionOptionsBuilder>? configure)
    {
        await using var connection = await MqttConnection.ConnectAsync(address, configure);
        Assert.Equal(MqttConnectionState.Connected, connection.State);
        await AssertExchangeAsync(connection);
    }

    private static async Task AssertExchangeAsync(MqttConnection connection)
    {
        var topic = $"transport/{connection.Options.ClientId}";
        await using var probe = await MessageProbe.SubscribeAsync(connection, topic);
        var payload = "hello over " + connection.Options.DisplayAddress;
        await connection.PublishAsync(topic, Encoding.UTF8.GetBytes(payload), MqttQos.AtLeastOnce);
        var message = await probe.NextAsync();
        Assert.Equal(topic, message.Topic);
        Assert.Equal(payload, message.Text);
    }
}
