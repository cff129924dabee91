namespace TypedMqtt.Tests.Options;

/// <summary>C3: one address string for the whole connection.</summary>
public sealed class AddressParsingTests
{
    [Theory]
    [InlineData("mqtt://broker.example.com", MqttTransport.Tcp, 1883)]
    [InlineData("mqtts://broker.example.com", MqttTransport.Tls, 8883)]
    [InlineData("ws://broker.example.com", MqttTransport.WebSocket, 8083)]
    [InlineData("wss://broker.example.com", MqttTransport.SecureWebSocket, 8084)]
    [InlineData("MQTT://broker.example.com", MqttTransport.Tcp, 1883)]
    public void Each_scheme_has_its_transport_and_default_port(string address, MqttTransport transport, int port)
    {
        var options = MqttConnectionOptions.Parse(address);
        Assert.Equal(transport, options.Transport);
        Assert.Equal(port, options.Port);
        Assert.Equal("broker.example.com", options.Host);
    }

    [Theory]
    [InlineData("mqtt://h:2883", 2883)]
    [InlineData("mqtts://h:1", 1)]
    [InlineData("ws://h:65535/mqtt", 65535)]
    [InlineData("wss://h:443/mqtt", 443)]
    public void Explicit_port_wins(string address, int port) => Assert.Equal(port, MqttConnectionOptions.Parse(address).Port);

    [Theory]
    [InlineData("ws://h", "/mqtt")]
    [InlineData("wss://h:9001", "/mqtt")]
    [InlineData("ws://h/", "/mqtt")]
    [InlineData("ws://h/custom/path", "/custom/path")]
    public void WebSocket_path_defaults_to_mqtt(string address, string path)
    {
        var options = MqttConnectionOptions.Parse(address);
        Assert.Equal(path, options.WebSocketPath);
        Assert.EndsWith(path, options.DisplayAddress, StringComparison.Ordinal);
    }

    [Fact]
    public void Ipv6_literal_host_is_accepted()
    {
        var options = MqttConnectionOptions.Parse("mqtt://[::1]:1884");
        Assert.Equal("::1", options.Host);
        Assert.Equal(1884, options.Port);
        Assert.Equal("mqtt://[::1]:1884", options.DisplayAddress);
    }

    [Fact]
    public void Userinfo_is_percent_decoded()
    {
        var options = MqttConnectionOptions.Parse("mqtts://us%40er:p%3Ass%2Fw%25rd%20x@h");
        Assert.Equal("us@er", options.UserName);
        Assert.Equal("p:ss/w%rd x", options.Password);
    }

    [Fact]
    public void User_without_password_is_accepted()
    {
        var options = MqttConnectionOptions.Parse("mqtts://alice@h");
        Assert.Equal("alice", options.UserName);
        Assert.Null(options.Password);
    }

    [Fact]
    public void No_userinfo_means_anonymous()
    {
        var options = MqttConnectionOptions.Parse("mqtt://h");
        Assert.Null(options.UserName);
        Assert.Null(options.Password);
    }

    [Fact]
    public void Every_query_option_is_applied()
    {
        var options = MqttConnectionOptions.Parse(
            "mqtt://h?clientId=dev-1&keepAlive=30&connectTimeout=7&cleanStart=false&sessionExpiry=3600&version=5" +
            "&receiveMaximum=10&maximumPacketSize=2048&topicAliasMaximum=4&requestResponseInformation=true&requestProblemInformation=false" +
            "&allowLongClientId=true");
        Assert.Equal("dev-1", options.ClientId);
        Assert.False(options.IsClientIdGenerated);
        Assert.Equal(TimeSpan.FromSeconds(30), options.KeepAlive);
        Assert.Equal(TimeSpan.FromSeconds(7), options.ConnectTimeout);
        Assert.False(options.CleanStart);
        Assert.Equal(3600u, options.SessionExpiryInterval);
        Assert.Equal(MqttVersion.V500, options.ProtocolVersion);
        Assert.Equal((ushort)10, options.ReceiveMaximum);
        Assert.Equal(2048u, options.MaximumPacketSize);
        Assert.Equal((ushort)4, options.TopicAliasMaximum);
        Assert.True(options.RequestResponseInformation);
        Assert.False(options.RequestProblemInformation);
        Assert.True(options.AllowLongClientId);
    }

    [Fact]
    public void Defaults_without_options()
    {
        var options = MqttConnectionOptions.Parse("mqtt://h");
        Assert.Equal(TimeSpan.FromSeconds(60), options.KeepAlive);
        Assert.Equal(TimeSpan.FromSeconds(10), options.ConnectTimeout);
        Assert.True(options.CleanStart);
        Assert.Equal(0u, options.SessionExpiryInterval);
        Assert.Equal(MqttVersion.V500, options.ProtocolVersion);
        Assert.True(options.RequestProblemInformation);
        Assert.False(options.AllowInsecureCredentials);
        Assert.Null(options.Will);
    }

    [Theory]
    [InlineData("3.1", MqttVersion.V310)]
    [InlineData("3.1.1", MqttVersion.V311)]
    [InlineData("4", MqttVersion.V311)]
    [InlineData("5", MqttVersion.V500)]
    [InlineData("5.0", MqttVersion.V500)]
    public void Version_option_names_the_protocol(string value, MqttVersion version) =>
        Assert.Equal(version, MqttConnectionOptions.Parse($"mqtt://h?version={value}").ProtocolVersion);

    [Fact]
    public void Session_expiry_never_is_0xFFFFFFFF()
    {
        Assert.Equal(0xFFFFFFFFu, MqttConnectionOptions.Parse("mqtt://h?sessionExpiry=never").SessionExpiryInterval);
        Assert.Equal(MqttConnectionOptions.SessionNeverExpires, MqttConnectionOptions.Parse("mqtt://h?sessionExpiry=4294967295").SessionExpiryInterval);
    }

    [Fact]
    public void Keep_alive_zero_turns_it_off()
    {
        Assert.Equal(TimeSpan.Zero, MqttConnectionOptions.Parse("mqtt://h?keepAlive=0").KeepAlive);
    }

    [Fact]
    public void Clean_session_is_an_alias_of_clean_start()
    {
        var options = MqttConnectionOptions.Parse("mqtt://h?clientId=a&version=3.1.1&cleanSession=false");
        Assert.False(options.CleanSession);
        Assert.False(options.CleanStart);
    }

    [Fact]
    public void Option_names_are_case_insensitive_and_values_percent_decoded()
    {
        var options = MqttConnectionOptions.Parse("mqtt://h?CLIENTID=a%2Fb%20c&KeepAlive=5");
        Assert.Equal("a/b c", options.ClientId);
        Assert.Equal(TimeSpan.FromSeconds(5), options.KeepAlive);
    }

    [Fact]
    public void Tls_query_options_load_files()
    {
        var directory = Path.Combine(Path.GetTempPath(), "typedmqtt-options-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var certificates = Infrastructure.TestCertificates.Create(directory);
            var options = MqttConnectionOptions.Parse(
                $"mqtts://h?caFile={Uri.EscapeDataString(certificates.CaFile)}&pfxFile={Uri.EscapeDataString(certificates.ClientPfxFile)}" +
                $"&pfxPassword={Infrastructure.TestCertificates.PfxPassword}&targetHost=broker.internal");
            Assert.Single(options.Tls.TrustedCaCertificates!);
            Assert.Equal("CN=TypedMqtt Test CA", options.Tls.TrustedCaCertificates![0].Subject);
            Assert.True(options.Tls.ClientCertificate!.HasPrivateKey);
            Assert.Equal("broker.internal", options.Tls.TargetHost);
            Assert.False(options.Tls.DangerousAcceptAnyServerCertificate);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Pem_client_certificate_options_work_in_any_order_and_need_each_other()
    {
        var directory = Path.Combine(Path.GetTempPath(), "typedmqtt-options-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var certificates = Infrastructure.TestCertificates.Create(directory);
            var key = Uri.EscapeDataString(certificates.ClientKeyFile);
            var cert = Uri.EscapeDataString(certificates.ClientCertificateFile);
            var options = MqttConnectionOptions.Parse($"mqtts://h?keyFile={key}&certFile={cert}");
            Assert.Equal("CN=" + certificates.ClientCommonName, options.Tls.ClientCertificate!.Subject);
            Assert.True(options.Tls.ClientCertificate.HasPrivateKey);

            var error = Assert.Throws<FormatException>(() => MqttConnectionOptions.Parse($"mqtts://h?certFile={cert}"));
            Assert.Contains("without keyFile", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Pem_client_certificate_options_set_one_by_one_load_when_the_pair_is_complete()
    {
        // As a configuration section sets them (TypedMqtt.Hosting's "Options"): one WithOption per name, in any order.
        var directory = Path.Combine(Path.GetTempPath(), "typedmqtt-options-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var certificates = Infrastructure.TestCertificates.Create(directory);
            var options = MqttConnectionOptionsBuilder.FromAddress("mqtts://h")
                .WithOption("certFile", certificates.ClientCertificateFile)
                .WithOption("keyFile", certificates.ClientKeyFile)
                .Build();
            Assert.Equal("CN=" + certificates.ClientCommonName, options.Tls.ClientCertificate!.Subject);
            Assert.True(options.Tls.ClientCertificate.HasPrivateKey);

            var error = Assert.Throws<FormatException>(() => MqttConnectionOptionsBuilder.FromAddress("mqtts://h").WithOption("certFile", certificates.ClientCertificateFile).Build());
            Assert.Contains("without keyFile", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Missing_ca_file_names_the_file()
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => MqttConnectionOptions.Parse("mqtts://h?caFile=/nope/ca.pem"));
        Assert.Contains("/nope/ca.pem", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_option_is_refused_and_known_ones_listed()
    {
        var error = Assert.Throws<FormatException>(() => MqttConnectionOptions.Parse("mqtt://h?keepalive=5&colour=blue"));
        Assert.Contains("'colour'", error.Message, StringComparison.Ordinal);
        Assert.Contains("keepAlive", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mqtt://h?keepAlive=abc", "keepAlive")]
    [InlineData("mqtt://h?keepAlive=65536", "keepAlive")]
    [InlineData("mqtt://h?keepAlive=-1", "keepAlive")]
    [InlineData("mqtt://h?connectTimeout=0", "connectTimeout")]
    [InlineData("mqtt://h?receiveMaximum=0", "receiveMaximum")]
    [InlineData("mqtt://h?cleanStart=maybe", "cleanStart")]
    [InlineData("mqtt://h?version=6", "version")]
    [InlineData("mqtt://h?sessionExpiry=4294967296", "sessionExpiry")]
    [InlineData("mqtt://h?clientId=a&clientId=b", "clientId")]
    public void Bad_option_value_is_refused_naming_the_option(string address, string option)
    {
        var error = Assert.Throws<FormatException>(() => MqttConnectionOptions.Parse(address));
        Assert.Contains(option, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("broker.example.com:1883", "no scheme")]
    [InlineData("localhost", "no scheme")]
    [InlineData("http://h", "unknown scheme 'http'")]
    [InlineData("mqtt://h:0", "port 0")]
    [InlineData("mqtt://h:65536", "not a valid address")]
    [InlineData("mqtt://h:abc", "not a valid address")]
    [InlineData("mqtt://", "no host")]
    [InlineData("mqtt://h/path", "only ws:// and wss://")]
    [InlineData("mqtt://h#frag", "fragment")]
    public void Bad_address_is_refused_before_any_socket(string address, string words)
    {
        var error = Assert.Throws<FormatException>(() => MqttConnectionOptions.Parse(address));
        Assert.Contains(words, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_address_fails_in_connect_without_opening_a_socket()
    {
        await Assert.ThrowsAsync<FormatException>(() => MqttConnection.ConnectAsync("tcp:/broken"));
    }

    [Fact]
    public void Password_never_appears_in_errors_about_the_address()
    {
        var error = Assert.Throws<FormatException>(() => MqttConnectionOptions.Parse("mqtt://alice:hunter2@h?bogus=1x"));
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
        var noScheme = Assert.Throws<FormatException>(() => MqttConnectionOptions.Parse("alice:hunter2@h"));
        Assert.DoesNotContain("hunter2", noScheme.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Builder_refines_an_address_in_code()
    {
        var options = MqttConnectionOptionsBuilder.FromAddress("mqtts://h?keepAlive=30")
            .WithClientId("from-code")
            .WithKeepAlive(TimeSpan.FromSeconds(45))
            .WithSessionExpiry(10)
            .WithCleanStart(false)
            .Build();
        Assert.Equal("from-code", options.ClientId);
        Assert.Equal(TimeSpan.FromSeconds(45), options.KeepAlive);
        Assert.Equal(10u, options.SessionExpiryInterval);
        Assert.False(options.CleanStart);
        Assert.Equal(MqttTransport.Tls, options.Transport);
    }
}
