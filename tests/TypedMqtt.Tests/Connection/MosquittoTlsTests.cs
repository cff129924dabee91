using System.Text;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Connection;

/// <summary>C14, C15: server certificate validation, host name check and client certificates against Mosquitto.</summary>
[Collection(MosquittoCollection.Name)]
public sealed class MosquittoTlsTests(MosquittoFixture fixture)
{
    private MosquittoBroker Broker => fixture.Broker;

    private TestCertificates Certificates => fixture.Certificates;

    [MosquittoFact]
    public async Task Server_certificate_from_a_ca_that_is_not_trusted_is_refused()
    {
        var error = await Assert.ThrowsAsync<MqttConnectException>(() =>
            MqttConnection.ConnectAsync($"mqtts://localhost:{Broker.TlsPort}", b => b.WithCaCertificatePem(Certificates.OtherCaPem)));
        Assert.Equal(MqttConnectFailure.Tls, error.Failure);
        Assert.Null(error.ReasonCode);
        Assert.Contains($"mqtts://localhost:{Broker.TlsPort}", error.Message, StringComparison.Ordinal);
        Assert.Contains("does not chain to the configured CA", error.Message, StringComparison.Ordinal);
    }

    [MosquittoFact]
    public async Task Server_certificate_is_checked_against_the_system_store_when_no_ca_is_given()
    {
        var error = await Assert.ThrowsAsync<MqttConnectException>(() => MqttConnection.ConnectAsync($"mqtts://localhost:{Broker.TlsPort}"));
        Assert.Equal(MqttConnectFailure.Tls, error.Failure);
        Assert.Contains("system trust store", error.Message, StringComparison.Ordinal);
    }

    [MosquittoFact]
    public async Task Right_ca_is_accepted_and_reported_as_connected()
    {
        await using var connection = await MqttConnection.ConnectAsync($"mqtts://localhost:{Broker.TlsPort}", b => b.WithCaCertificatePem(Certificates.CaPem));
        Assert.True(connection.IsConnected);
    }

    [MosquittoFact]
    public async Task Host_name_not_in_the_certificate_is_refused()
    {
        var error = await Assert.ThrowsAsync<MqttConnectException>(() =>
            MqttConnection.ConnectAsync($"mqtts://127.0.0.1:{Broker.TlsPort}", b => b.WithCaCertificatePem(Certificates.CaPem).WithTlsTargetHost("wrong.example")));
        Assert.Equal(MqttConnectFailure.Tls, error.Failure);
        Assert.Contains("is not valid for host 'wrong.example'", error.Message, StringComparison.Ordinal);
    }

    [MosquittoFact]
    public async Task Ip_address_in_the_certificate_san_is_accepted()
    {
        // The server certificate lists 127.0.0.1 as an IP SAN; connecting by IP must pass the host name check.
        await using var connection = await MqttConnection.ConnectAsync($"mqtts://127.0.0.1:{Broker.TlsPort}", b => b.WithCaCertificatePem(Certificates.CaPem));
        Assert.True(connection.IsConnected);
    }

    [MosquittoFact]
    public async Task Dangerous_option_accepts_an_untrusted_certificate_for_a_wrong_host()
    {
        await using var connection = await MqttConnection.ConnectAsync(
            $"mqtts://127.0.0.1:{Broker.TlsPort}?targetHost=wrong.example&dangerousAcceptAnyServerCertificate=true");
        Assert.True(connection.IsConnected);
    }

    [MosquittoFact]
    public async Task Mutual_tls_without_a_client_certificate_is_refused_with_a_clear_error()
    {
        var error = await Assert.ThrowsAsync<MqttConnectException>(() =>
            MqttConnection.ConnectAsync($"mqtts://localhost:{Broker.MutualTlsPort}", b => b.WithCaCertificatePem(Certificates.CaPem).WithConnectTimeout(TimeSpan.FromSeconds(5))));
        Assert.True(error.Failure == MqttConnectFailure.Tls, error.ToString());
        Assert.Contains($"mqtts://localhost:{Broker.MutualTlsPort}", error.Message, StringComparison.Ordinal);
        Assert.Contains("requires a client certificate", error.Message, StringComparison.Ordinal);
    }

    [MosquittoFact]
    public async Task Mutual_tls_client_certificate_common_name_becomes_the_user_name()
    {
        await using var connection = await MqttConnection.ConnectAsync(
            $"mqtts://localhost:{Broker.MutualTlsPort}",
            b => b.WithCaCertificatePem(Certificates.CaPem).WithClientCertificatePem(Certificates.ClientCertificatePem, Certificates.ClientKeyPem));
        var topic = "tls/" + connection.Options.ClientId;
        await using var probe = await MessageProbe.SubscribeAsync(connection, topic);
        await connection.PublishAsync(topic, Encoding.UTF8.GetBytes("x"), MqttQos.AtLeastOnce);
        await probe.NextAsync();
        Assert.Contains($"as {connection.Options.ClientId} (p5, c1, k60, u'{Certificates.ClientCommonName}')", Broker.Log, StringComparison.Ordinal);
    }
}
