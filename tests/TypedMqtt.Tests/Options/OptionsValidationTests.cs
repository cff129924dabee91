using System.Text;

namespace TypedMqtt.Tests.Options;

/// <summary>C4, C6, C11, C14: options that would go wrong on the wire are refused before any socket opens.</summary>
public sealed class OptionsValidationTests
{
    [Fact]
    public void Empty_client_id_is_generated_unique_and_portable()
    {
        var ids = Enumerable.Range(0, 200).Select(_ => MqttConnectionOptions.Parse("mqtt://h")).ToList();
        Assert.All(ids, o =>
        {
            Assert.True(o.IsClientIdGenerated);
            Assert.InRange(Encoding.UTF8.GetByteCount(o.ClientId), 1, MqttConnectionOptions.PortableClientIdBytes);
            Assert.Matches("^[0-9a-zA-Z]+$", o.ClientId);
        });
        Assert.Equal(ids.Count, ids.Select(o => o.ClientId).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Explicit_empty_client_id_is_generated_too()
    {
        var options = MqttConnectionOptions.Parse("mqtt://h?clientId=");
        Assert.True(options.IsClientIdGenerated);
        Assert.NotEmpty(options.ClientId);
    }

    [Fact]
    public void Client_id_of_23_bytes_is_accepted()
    {
        var id = new string('a', 23);
        Assert.Equal(id, MqttConnectionOptions.Parse($"mqtt://h?clientId={id}").ClientId);
    }

    [Fact]
    public void Client_id_longer_than_23_bytes_is_refused_unless_allowed()
    {
        var id = new string('a', 24);
        var error = Assert.Throws<ArgumentException>(() => MqttConnectionOptions.Parse($"mqtt://h?clientId={id}"));
        Assert.Contains("24 UTF-8 bytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("allowLongClientId", error.Message, StringComparison.Ordinal);
        Assert.Equal(id, MqttConnectionOptions.Parse($"mqtt://h?clientId={id}&allowLongClientId=true").ClientId);
    }

    [Fact]
    public void Client_id_length_counts_utf8_bytes_not_characters()
    {
        // 12 characters, 24 UTF-8 bytes.
        var id = string.Concat(Enumerable.Repeat("é", 12));
        var error = Assert.Throws<ArgumentException>(() => new MqttConnectionOptionsBuilder().WithClientId(id).Build());
        Assert.Contains("24 UTF-8 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Client_id_with_a_lone_surrogate_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => new MqttConnectionOptionsBuilder().WithClientId("ab\uD800c").Build());
        Assert.Contains("lone surrogate", error.Message, StringComparison.Ordinal);
        Assert.Contains("ClientId", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Client_id_with_a_null_character_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => new MqttConnectionOptionsBuilder().WithClientId("a\0b").Build());
        Assert.Contains("U+0000", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("3.1.1")]
    [InlineData("3.1")]
    public void Generated_client_id_with_a_persistent_session_is_refused_on_version3(string version)
    {
        var error = Assert.Throws<ArgumentException>(() => MqttConnectionOptions.Parse($"mqtt://h?version={version}&cleanSession=false"));
        Assert.Contains("needs a client id", error.Message, StringComparison.Ordinal);
        Assert.NotNull(MqttConnectionOptions.Parse($"mqtt://h?version={version}&cleanSession=false&clientId=stable"));
        Assert.NotNull(MqttConnectionOptions.Parse($"mqtt://h?version={version}&cleanSession=true"));
    }

    [Theory]
    [InlineData("mqtt://u:p@h")]
    [InlineData("ws://u:p@h")]
    [InlineData("mqtt://u@h")]
    public void Credentials_over_plain_transports_are_refused(string address)
    {
        var error = Assert.Throws<ArgumentException>(() => MqttConnectionOptions.Parse(address));
        Assert.Contains("clear text", error.Message, StringComparison.Ordinal);
        Assert.Contains("allowInsecureCredentials", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(":p@", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mqtt://u:p@h?allowInsecureCredentials=true")]
    [InlineData("ws://u:p@h?allowInsecureCredentials=true")]
    [InlineData("mqtts://u:p@h")]
    [InlineData("wss://u:p@h")]
    public void Credentials_are_accepted_over_tls_or_when_explicitly_allowed(string address)
    {
        var options = MqttConnectionOptions.Parse(address);
        Assert.Equal("u", options.UserName);
        Assert.Equal("p", options.Password);
    }

    [Fact]
    public void Builder_credentials_follow_the_same_rule()
    {
        Assert.Throws<ArgumentException>(() => MqttConnectionOptionsBuilder.FromAddress("mqtt://h").WithCredentials("u", "p").Build());
        var options = MqttConnectionOptionsBuilder.FromAddress("mqtt://h").WithCredentials("u", "p").AllowInsecureCredentials().Build();
        Assert.True(options.AllowInsecureCredentials);
    }

    [Theory]
    [InlineData("mqtt://h?version=3.1.1&sessionExpiry=60", "SessionExpiryInterval")]
    [InlineData("mqtt://h?version=3.1.1&receiveMaximum=5", "ReceiveMaximum")]
    [InlineData("mqtt://h?version=3.1.1&maximumPacketSize=5000", "MaximumPacketSize")]
    [InlineData("mqtt://h?version=3.1.1&topicAliasMaximum=5", "TopicAliasMaximum")]
    [InlineData("mqtt://h?version=3.1.1&requestResponseInformation=true", "RequestResponseInformation")]
    [InlineData("mqtt://h?version=3.1&requestProblemInformation=false", "RequestProblemInformation")]
    public void Version5_only_options_on_version3_are_refused(string address, string feature)
    {
        var error = Assert.Throws<ArgumentException>(() => MqttConnectionOptions.Parse(address));
        Assert.Contains(feature, error.Message, StringComparison.Ordinal);
        Assert.Contains("MQTT 5", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Version5_only_builder_settings_on_version3_are_refused()
    {
        Assert.Contains("UserProperties", Assert.Throws<ArgumentException>(() =>
            MqttConnectionOptionsBuilder.FromAddress("mqtt://h?version=3.1.1").WithUserProperty("a", "b").Build()).Message, StringComparison.Ordinal);
        Assert.Contains("Authentication", Assert.Throws<ArgumentException>(() =>
            MqttConnectionOptionsBuilder.FromAddress("mqtt://h?version=3.1.1").WithAuthentication("SCRAM").Build()).Message, StringComparison.Ordinal);
        Assert.Contains("Will delay", Assert.Throws<ArgumentException>(() =>
            MqttConnectionOptionsBuilder.FromAddress("mqtt://h?version=3.1.1").WithWill(new MqttWill("w", default) { DelayInterval = 5 }).Build()).Message, StringComparison.Ordinal);
        Assert.Contains("will properties", Assert.Throws<ArgumentException>(() =>
            MqttConnectionOptionsBuilder.FromAddress("mqtt://h?version=3.1.1").WithWill(new MqttWill("w", default) { Properties = new MqttMessageProperties { ContentType = "x" } }).Build()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Will_topic_with_wildcards_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => MqttConnectionOptionsBuilder.FromAddress("mqtt://h").WithWill(new MqttWill("a/+/b", default)).Build());
        Assert.Contains("Will topic", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mqtt://h?targetHost=x")]
    [InlineData("ws://h?dangerousAcceptAnyServerCertificate=true")]
    public void Tls_options_without_tls_are_refused(string address)
    {
        var error = Assert.Throws<ArgumentException>(() => MqttConnectionOptions.Parse(address));
        Assert.Contains("does not use TLS", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ca_certificate_on_a_plain_address_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => MqttConnectionOptionsBuilder.FromAddress("mqtt://h").WithCaCertificatePem(CaPem()).Build());
        Assert.Contains("does not use TLS", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ca_pem_without_a_certificate_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => MqttConnectionOptionsBuilder.FromAddress("mqtts://h").WithCaCertificatePem("not a pem"));
        Assert.Contains("no CERTIFICATE block", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tls_validation_is_strict_by_default()
    {
        var tls = MqttConnectionOptions.Parse("mqtts://h").Tls;
        Assert.False(tls.DangerousAcceptAnyServerCertificate);
        Assert.Null(tls.TrustedCaCertificates);
        Assert.Null(tls.TargetHost);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(65536)]
    public void Keep_alive_out_of_range_is_refused(int seconds)
    {
        var error = Assert.Throws<ArgumentException>(() => new MqttConnectionOptionsBuilder().WithKeepAlive(TimeSpan.FromSeconds(seconds)).Build());
        Assert.Contains("KeepAlive", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fractional_keep_alive_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new MqttConnectionOptionsBuilder().WithKeepAlive(TimeSpan.FromMilliseconds(1500)).Build());
    }

    [Fact]
    public void Non_positive_connect_timeout_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => new MqttConnectionOptionsBuilder().WithConnectTimeout(TimeSpan.Zero).Build());
        Assert.Contains("ConnectTimeout", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_never_shows_the_password()
    {
        var options = MqttConnectionOptions.Parse("mqtts://alice:hunter2@h:8883?clientId=c1");
        var text = options.ToString();
        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        Assert.Contains("alice", text, StringComparison.Ordinal);
        Assert.Contains("***", text, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", options.DisplayAddress, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", options.Tls.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_options_fail_in_connect_before_any_socket()
    {
        var options = MqttConnectionOptions.Parse("mqtt://127.0.0.1:1") with { ClientId = new string('x', 30) };
        var error = await Assert.ThrowsAsync<ArgumentException>(() => MqttConnection.ConnectAsync(options));
        Assert.Contains("ClientId", error.Message, StringComparison.Ordinal);
    }

    private static string CaPem()
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=x", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        return certificate.ExportCertificatePem();
    }
}
