using System.Security.Cryptography.X509Certificates;

namespace TypedMqtt;

/// <summary>
/// Builds <see cref="MqttConnectionOptions"/>. Start from <see cref="FromAddress(string)"/> to take a whole connection
/// from one configuration value, then refine it in code; <see cref="Build"/> validates everything before any socket opens.
/// The options an address (or a configuration section) names are parsed in MqttConnectionOptionsBuilder.Address.cs.
/// </summary>
public partial class MqttConnectionOptionsBuilder
{
    private MqttConnectionOptions _options = new();
    private MqttTlsOptions _tls = MqttTlsOptions.Default;
    private Func<MqttConnectionOptions, MqttWill>? _willFactory;

    /// <summary>Creates a builder for <c>mqtt://localhost:1883</c>.</summary>
    public MqttConnectionOptionsBuilder()
    {
    }

    /// <summary>Creates a builder that starts from existing options.</summary>
    /// <param name="options">The options to start from.</param>
    public MqttConnectionOptionsBuilder(MqttConnectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _tls = options.Tls;
    }

    /// <summary>
    /// Starts a builder from an address: <c>scheme://[user[:password]@]host[:port][/path][?option=value&amp;...]</c>.
    /// Schemes: <c>mqtt</c> (1883), <c>mqtts</c> (8883), <c>ws</c> (8083), <c>wss</c> (8084); WebSocket path defaults to <c>/mqtt</c>.
    /// Options: <c>clientId</c>, <c>keepAlive</c> (s), <c>connectTimeout</c> (s), <c>cleanStart</c>/<c>cleanSession</c>,
    /// <c>sessionExpiry</c> (s or <c>never</c>), <c>version</c> (<c>3.1</c>, <c>3.1.1</c>, <c>5</c>), <c>receiveMaximum</c>,
    /// <c>maximumPacketSize</c>, <c>topicAliasMaximum</c>, <c>requestResponseInformation</c>, <c>requestProblemInformation</c>,
    /// <c>allowInsecureCredentials</c>, <c>allowLongClientId</c>, <c>codecContentType</c>, <c>topicAliases</c>, <c>followRedirects</c>, <c>requestTimeout</c> (s),
    /// <c>responseTopicPrefix</c>, <c>caFile</c> (PEM), <c>certFile</c> + <c>keyFile</c> (PEM),
    /// <c>pfxFile</c> + <c>pfxPassword</c>, <c>targetHost</c>, <c>dangerousAcceptAnyServerCertificate</c>.
    /// </summary>
    /// <param name="address">The address.</param>
    /// <exception cref="FormatException">The address is malformed or names an unknown option.</exception>
    public static MqttConnectionOptionsBuilder FromAddress(string address)
    {
        var builder = new MqttConnectionOptionsBuilder();
        builder.ApplyAddress(address);
        return builder;
    }

    /// <summary>Applies an address (scheme, host, port, path, credentials and query options) over the current settings.</summary>
    /// <param name="address">The address; see <see cref="FromAddress(string)"/>.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithAddress(string address)
    {
        ApplyAddress(address);
        return this;
    }

    /// <summary>Sets the broker host and port for the current transport.</summary>
    /// <param name="host">Host name or IP address.</param>
    /// <param name="port">Port, or <see langword="null"/> for the scheme's default.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithHost(string host, int? port = null)
    {
        _options = _options with { Host = host, Port = port ?? DefaultPort(_options.Transport) };
        return this;
    }

    /// <summary>Sets the transport; the port changes to the transport's default if it was the previous transport's default.</summary>
    /// <param name="transport">The transport.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithTransport(MqttTransport transport)
    {
        var port = _options.Port == DefaultPort(_options.Transport) ? DefaultPort(transport) : _options.Port;
        _options = _options with { Transport = transport, Port = port };
        return this;
    }

    /// <summary>
    /// Opens the byte stream to the broker with <paramref name="connector"/> instead of a TCP socket (see
    /// <see cref="MqttConnectionOptions.StreamConnector"/>): an in-memory pipe in tests, a Unix domain socket, a tunnel.
    /// </summary>
    /// <param name="connector">Opens a new stream for each connection attempt; the connection disposes it.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithStreamConnector(Func<CancellationToken, ValueTask<Stream>> connector)
    {
        ArgumentNullException.ThrowIfNull(connector);
        _options = _options with { StreamConnector = connector };
        return this;
    }

    /// <summary>Sets the client id; an empty id means a generated one.</summary>
    /// <param name="clientId">The client id.</param>
    /// <param name="allowLongClientId">Accept ids longer than 23 UTF-8 bytes.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithClientId(string clientId, bool allowLongClientId = false)
    {
        _options = _options with { ClientId = clientId ?? string.Empty, AllowLongClientId = allowLongClientId || _options.AllowLongClientId, IsClientIdGenerated = false };
        return this;
    }

    /// <summary>Sets user name and password. Without TLS they are refused unless <see cref="AllowInsecureCredentials"/> is called.</summary>
    /// <param name="userName">User name.</param>
    /// <param name="password">Password, or <see langword="null"/>.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithCredentials(string userName, string? password = null)
    {
        _options = _options with { UserName = userName, Password = password };
        return this;
    }

    /// <summary>Allows credentials over <c>mqtt://</c> or <c>ws://</c>, where anyone on the network path can read them.</summary>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder AllowInsecureCredentials()
    {
        _options = _options with { AllowInsecureCredentials = true };
        return this;
    }

    /// <summary>Sets the connect timeout (TCP, TLS and CONNACK together).</summary>
    /// <param name="timeout">The timeout.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithConnectTimeout(TimeSpan timeout)
    {
        _options = _options with { ConnectTimeout = timeout };
        return this;
    }

    /// <summary>Sets the keep alive period; <see cref="TimeSpan.Zero"/> turns it off.</summary>
    /// <param name="keepAlive">Whole seconds, at most 65,535.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithKeepAlive(TimeSpan keepAlive)
    {
        _options = _options with { KeepAlive = keepAlive };
        return this;
    }

    /// <summary>Sets Clean Start (MQTT 5) / Clean Session (3.1.1).</summary>
    /// <param name="cleanStart"><see langword="false"/> resumes an existing session.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithCleanStart(bool cleanStart)
    {
        _options = _options with { CleanStart = cleanStart };
        return this;
    }

    /// <summary>Sets Clean Session (MQTT 3.1/3.1.1); the same bit as Clean Start.</summary>
    /// <param name="cleanSession"><see langword="false"/> asks for a persistent session.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithCleanSession(bool cleanSession) => WithCleanStart(cleanSession);

    /// <summary>Sets the MQTT 5 session expiry interval in seconds (<see cref="MqttConnectionOptions.SessionNeverExpires"/> for never).</summary>
    /// <param name="seconds">Seconds the session outlives the connection.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithSessionExpiry(uint seconds)
    {
        _options = _options with { SessionExpiryInterval = seconds };
        return this;
    }

    /// <summary>Sets the protocol version.</summary>
    /// <param name="version">3.1, 3.1.1 or 5.0.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithProtocolVersion(MqttVersion version)
    {
        _options = _options with { ProtocolVersion = version };
        return this;
    }

    /// <summary>Sets the last will.</summary>
    /// <param name="will">The will, or <see langword="null"/> for none.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithWill(MqttWill? will)
    {
        _options = _options with { Will = will };
        _willFactory = null;
        return this;
    }

    /// <summary>
    /// Sets the last will from a factory that receives the final options (client id generated, version known), for will
    /// topics such as <c>devices/{clientId}/status</c>.
    /// </summary>
    /// <param name="willFactory">Creates the will.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithWill(Func<MqttConnectionOptions, MqttWill> willFactory)
    {
        _willFactory = willFactory;
        return this;
    }

    /// <summary>Sets the MQTT 5 receive maximum, maximum packet size and topic alias maximum we announce.</summary>
    /// <param name="receiveMaximum">Unacknowledged QoS 1/2 publishes the server may send at once (1-65,535).</param>
    /// <param name="maximumPacketSize">Largest packet we accept, in bytes.</param>
    /// <param name="topicAliasMaximum">Highest topic alias the server may use toward us.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithLimits(ushort? receiveMaximum = null, uint? maximumPacketSize = null, ushort? topicAliasMaximum = null)
    {
        _options = _options with
        {
            ReceiveMaximum = receiveMaximum ?? _options.ReceiveMaximum,
            MaximumPacketSize = maximumPacketSize ?? _options.MaximumPacketSize,
            TopicAliasMaximum = topicAliasMaximum ?? _options.TopicAliasMaximum,
        };
        return this;
    }

    /// <summary>Sets the MQTT 5 request response information and request problem information flags.</summary>
    /// <param name="requestResponseInformation">Ask for response information in CONNACK.</param>
    /// <param name="requestProblemInformation">Allow reason strings and user properties on failures.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithInformationRequests(bool requestResponseInformation, bool requestProblemInformation = true)
    {
        _options = _options with { RequestResponseInformation = requestResponseInformation, RequestProblemInformation = requestProblemInformation };
        return this;
    }

    /// <summary>Sets how long a request waits for its reply by default (see <see cref="MqttConnectionOptions.RequestTimeout"/>).</summary>
    /// <param name="timeout">A positive time, or <see cref="Timeout.InfiniteTimeSpan"/>.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithRequestTimeout(TimeSpan timeout)
    {
        _options = _options with { RequestTimeout = timeout };
        return this;
    }

    /// <summary>Sets the prefix of this connection's reply topic (see <see cref="MqttConnectionOptions.ResponseTopicPrefix"/>).</summary>
    /// <param name="prefix">A topic name without wildcards, for example <c>clients/replies</c>.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithResponseTopicPrefix(string prefix)
    {
        _options = _options with { ResponseTopicPrefix = prefix };
        return this;
    }

    /// <summary>
    /// MQTT 5: typed publishes carry their codec's content type and payload format indicator (for JSON,
    /// <c>application/json</c> and UTF-8). Off by default; see <see cref="MqttConnectionOptions.SendCodecContentType"/>.
    /// </summary>
    /// <param name="send">Whether to send them.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithCodecContentType(bool send = true)
    {
        _options = _options with { SendCodecContentType = send };
        return this;
    }

    /// <summary>
    /// Brokers to fail over to after the main address, tried in turn under the reconnect policy; see
    /// <see cref="MqttConnectionOptions.FailoverServers"/>. Each is <c>host</c> or <c>host:port</c> (the scheme's default port).
    /// </summary>
    /// <param name="servers">The servers, in order.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithFailoverServers(params string[] servers)
    {
        ArgumentNullException.ThrowIfNull(servers);
        var endpoints = servers.Select(server => MqttAddress.ParseServer(server ?? string.Empty) is { } parsed
            ? new System.Net.DnsEndPoint(parsed.Host, parsed.Port ?? DefaultPort(_options.Transport))
            : throw new ArgumentException($"The failover server '{server}' is not host or host:port with a port from 1 to 65535, for example broker-b or broker-b:1883.", nameof(servers)));
        _options = _options with { FailoverServers = [.. endpoints] };
        return this;
    }

    /// <summary>MQTT 5: how many server redirects (0x9C / 0x9D with a Server Reference) one attempt follows; see <see cref="MqttConnectionOptions.FollowRedirects"/>.</summary>
    /// <param name="redirects">0 (the default) to 10.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithFollowRedirects(int redirects = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(redirects);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(redirects, 10);
        _options = _options with { FollowRedirects = redirects };
        return this;
    }

    /// <summary>MQTT 5: whether to assign outbound topic aliases (on by default); see <see cref="MqttConnectionOptions.UseTopicAliases"/>.</summary>
    /// <param name="use">Whether to use them.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithTopicAliases(bool use = true)
    {
        _options = _options with { UseTopicAliases = use };
        return this;
    }

    /// <summary>Reads the connection on a thread of its own (TCP only); see <see cref="MqttConnectionOptions.DedicatedReadingThread"/>.</summary>
    /// <param name="use">Whether to.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithDedicatedReadingThread(bool use = true)
    {
        _options = _options with { DedicatedReadingThread = use };
        return this;
    }

    /// <summary>Adds an MQTT 5 user property to CONNECT.</summary>
    /// <param name="name">Property name.</param>
    /// <param name="value">Property value.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithUserProperty(string name, string value)
    {
        _options = _options with { UserProperties = [.. _options.UserProperties, new MqttUserProperty(name, value)] };
        return this;
    }

    /// <summary>Sets MQTT 5 enhanced authentication method and initial data.</summary>
    /// <param name="method">Authentication method name.</param>
    /// <param name="data">Initial authentication data.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithAuthentication(string method, ReadOnlyMemory<byte> data = default)
    {
        _options = _options with { AuthenticationMethod = method, AuthenticationData = data };
        return this;
    }

    /// <summary>MQTT 5: a multi-step enhanced authentication exchange on connect and re-authentication; see <see cref="IMqttAuthenticator"/>.</summary>
    /// <param name="authenticator">Runs the exchange.</param>
    /// <param name="reauthenticateEvery">Re-authenticate an open connection this often (null: only on demand).</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithAuthenticator(IMqttAuthenticator authenticator, TimeSpan? reauthenticateEvery = null)
    {
        ArgumentNullException.ThrowIfNull(authenticator);
        _options = _options with { Authenticator = authenticator, ReauthenticateEvery = reauthenticateEvery };
        return this;
    }

    /// <summary>Trusts only the CA certificates in the PEM text (one or more certificates) for the server certificate.</summary>
    /// <param name="pem">PEM text with one or more <c>CERTIFICATE</c> blocks.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithCaCertificatePem(string pem)
    {
        var collection = new X509Certificate2Collection();
        collection.ImportFromPem(pem);
        if (collection.Count == 0)
        {
            throw new ArgumentException("The CA PEM text holds no CERTIFICATE block; pass the CA certificate as '-----BEGIN CERTIFICATE-----...'.", nameof(pem));
        }

        return WithCaCertificates(collection);
    }

    /// <summary>Trusts only these CA certificates for the server certificate.</summary>
    /// <param name="certificates">The trust anchors.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithCaCertificates(X509Certificate2Collection certificates)
    {
        _tls = _tls with { TrustedCaCertificates = certificates };
        return this;
    }

    /// <summary>Presents a client certificate (mutual TLS).</summary>
    /// <param name="certificate">A certificate with its private key.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithClientCertificate(X509Certificate2 certificate)
    {
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException($"The client certificate '{certificate.Subject}' has no private key; load it together with its key (PEM key file or PFX).", nameof(certificate));
        }

        _tls = _tls with { ClientCertificate = certificate };
        return this;
    }

    /// <summary>Presents a client certificate given as PEM certificate and PEM private key text.</summary>
    /// <param name="certificatePem">PEM certificate.</param>
    /// <param name="keyPem">PEM private key (PKCS#8, PKCS#1 or EC).</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithClientCertificatePem(string certificatePem, string keyPem) =>
        WithClientCertificate(CertificateFiles.FromPem(certificatePem, keyPem));

    /// <summary>Presents a client certificate from a PFX (PKCS#12) file.</summary>
    /// <param name="path">The PFX file.</param>
    /// <param name="password">Its password, or <see langword="null"/>.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithClientCertificatePfx(string path, string? password = null) =>
        WithClientCertificate(CertificateFiles.LoadPfx(path, password));

    /// <summary>Sets the host name used for SNI and checked against the server certificate (defaults to the address host).</summary>
    /// <param name="targetHost">The expected server name.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithTlsTargetHost(string targetHost)
    {
        _tls = _tls with { TargetHost = targetHost };
        return this;
    }

    /// <summary>Replaces the whole TLS configuration.</summary>
    /// <param name="tls">TLS options.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder WithTls(MqttTlsOptions tls)
    {
        _tls = tls;
        return this;
    }

    /// <summary>
    /// Accepts any server certificate, for any host, signed by anybody. This removes TLS's protection against a man in
    /// the middle; every connect logs a warning. For test brokers only.
    /// </summary>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder DangerousAcceptAnyServerCertificate()
    {
        _tls = _tls with { DangerousAcceptAnyServerCertificate = true };
        return this;
    }

    /// <summary>Applies a change to the options directly (for properties without a builder method).</summary>
    /// <param name="change">Returns the changed options, usually with a <c>with</c> expression.</param>
    /// <returns>This builder.</returns>
    public MqttConnectionOptionsBuilder Configure(Func<MqttConnectionOptions, MqttConnectionOptions> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        _options = change(_options with { Tls = _tls });
        _tls = _options.Tls;
        return this;
    }

    /// <summary>Validates and returns the options; a missing client id is generated here.</summary>
    /// <returns>The immutable options.</returns>
    /// <exception cref="ArgumentException">An option is invalid; the message names it and says what to do.</exception>
    /// <exception cref="FormatException">A client certificate named by <see cref="WithOption"/> is incomplete or cannot be read.</exception>
    public MqttConnectionOptions Build()
    {
        if (FindMissing() is { } missing)
        {
            throw new ArgumentException(missing);
        }

        // Client certificates named by WithOption load here, once both halves of a PEM pair are known.
        LoadClientCertificateFromQuery();
        var options = _options with { Tls = _tls };
        if (options.ClientId.Length == 0)
        {
            options = options with { ClientId = ClientIdGenerator.NewClientId(), IsClientIdGenerated = true };
        }

        if (_willFactory is not null)
        {
            options = options with { Will = _willFactory(options) };
        }

        MqttConnectionOptionsValidator.ThrowIfInvalid(options);
        return options;
    }

    /// <summary>Whether a will was set, directly or through a factory.</summary>
    protected bool HasWill => _options.Will is not null || _willFactory is not null;

    /// <summary>
    /// What a derived builder (a contract's generated <c>Options</c>) still needs before <see cref="Build"/> may succeed,
    /// or <see langword="null"/>; for example the will its contract declares.
    /// </summary>
    /// <returns>What is missing and what to do about it, or <see langword="null"/>.</returns>
    protected virtual string? FindMissing() => null;

    internal static int DefaultPort(MqttTransport transport) => transport switch
    {
        MqttTransport.Tls => 8883,
        MqttTransport.WebSocket => 8083,
        MqttTransport.SecureWebSocket => 8084,
        _ => 1883,
    };
}
