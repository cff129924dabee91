using System.Globalization;

namespace TypedMqtt;

/// <summary>The options an address names (<c>?keepAlive=30&amp;...</c>), also settable one by one with <see cref="WithOption"/>.</summary>
public partial class MqttConnectionOptionsBuilder
{
    private void ApplyAddress(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var parsed = MqttAddress.Parse(address);
        _options = _options with
        {
            Transport = parsed.Transport,
            Host = parsed.Host,
            Port = parsed.Port ?? DefaultPort(parsed.Transport),
            FailoverServers = [.. parsed.Failover.Select(s => new System.Net.DnsEndPoint(s.Host, s.Port ?? DefaultPort(parsed.Transport)))],
            WebSocketPath = parsed.Path ?? "/mqtt",
        };

        if (parsed.UserName is not null)
        {
            _options = _options with { UserName = parsed.UserName, Password = parsed.Password };
        }

        foreach (var (name, value) in parsed.Query)
        {
            ApplyQueryOption(name, value);
        }

        // Certificates load once every option is known, so pfxPassword may come after pfxFile and keyFile before certFile.
        LoadClientCertificateFromQuery();
    }

    /// <summary>
    /// Sets one option by its address name (<c>keepAlive</c>, <c>cleanStart</c>, <c>sessionExpiry</c>, <c>caFile</c>...;
    /// see <see cref="FromAddress(string)"/>), parsed and checked as in an address. For settings that come as name/value
    /// pairs, such as a configuration section.
    /// </summary>
    /// <param name="name">The option's address name (case-insensitive).</param>
    /// <param name="value">Its value as text.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="FormatException">The name is unknown or the value malformed; the message lists the known names.</exception>
    public MqttConnectionOptionsBuilder WithOption(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        ApplyQueryOption(name, value); // a certFile/keyFile/pfxFile loads in Build, once its pair is complete
        return this;
    }

    private void ApplyQueryOption(string name, string value)
    {
        switch (name.ToUpperInvariant())
        {
            case "CLIENTID":
                _options = _options with { ClientId = value, IsClientIdGenerated = false };
                break;
            case "KEEPALIVE":
                _options = _options with { KeepAlive = TimeSpan.FromSeconds(ParseNumber(name, value, 0, ushort.MaxValue)) };
                break;
            case "CONNECTTIMEOUT":
                _options = _options with { ConnectTimeout = TimeSpan.FromSeconds(ParseNumber(name, value, 1, int.MaxValue / 1000)) };
                break;
            case "CLEANSTART":
            case "CLEANSESSION":
                _options = _options with { CleanStart = ParseBool(name, value) };
                break;
            case "SESSIONEXPIRY":
                _options = _options with
                {
                    SessionExpiryInterval = value.Equals("never", StringComparison.OrdinalIgnoreCase)
                        ? MqttConnectionOptions.SessionNeverExpires
                        : (uint)ParseNumber(name, value, 0, uint.MaxValue),
                };
                break;
            case "VERSION":
            case "PROTOCOLVERSION":
                _options = _options with { ProtocolVersion = ParseVersion(value) };
                break;
            case "RECEIVEMAXIMUM":
                _options = _options with { ReceiveMaximum = (ushort)ParseNumber(name, value, 1, ushort.MaxValue) };
                break;
            case "MAXIMUMPACKETSIZE":
                _options = _options with { MaximumPacketSize = (uint)ParseNumber(name, value, 1, uint.MaxValue) };
                break;
            case "TOPICALIASMAXIMUM":
                _options = _options with { TopicAliasMaximum = (ushort)ParseNumber(name, value, 0, ushort.MaxValue) };
                break;
            case "REQUESTRESPONSEINFORMATION":
                _options = _options with { RequestResponseInformation = ParseBool(name, value) };
                break;
            case "REQUESTPROBLEMINFORMATION":
                _options = _options with { RequestProblemInformation = ParseBool(name, value) };
                break;
            case "ALLOWINSECURECREDENTIALS":
                _options = _options with { AllowInsecureCredentials = ParseBool(name, value) };
                break;
            case "REQUESTTIMEOUT":
                _options = _options with { RequestTimeout = TimeSpan.FromSeconds(ParseNumber(name, value, 1, int.MaxValue / 1000)) };
                break;
            case "RESPONSETOPICPREFIX":
                _options = _options with { ResponseTopicPrefix = value };
                break;
            case "CODECCONTENTTYPE":
                _options = _options with { SendCodecContentType = ParseBool(name, value) };
                break;
            case "FOLLOWREDIRECTS":
                _options = _options with { FollowRedirects = (int)ParseNumber(name, value, 0, 10) };
                break;
            case "TOPICALIASES":
                _options = _options with { UseTopicAliases = ParseBool(name, value) };
                break;
            case "READINGTHREAD":
                _options = _options with { DedicatedReadingThread = ParseBool(name, value) };
                break;
            case "ALLOWLONGCLIENTID":
                _options = _options with { AllowLongClientId = ParseBool(name, value) };
                break;
            case "CAFILE":
                _tls = _tls with { TrustedCaCertificates = CertificateFiles.LoadCaPemFile(value) };
                break;
            case "CERTFILE":
                _pendingCertFile = value;
                break;
            case "KEYFILE":
                _pendingKeyFile = value;
                break;
            case "PFXFILE":
                _pendingPfxFile = value;
                break;
            case "PFXPASSWORD":
                _pendingPfxPassword = value;
                break;
            case "TARGETHOST":
            case "SNI":
                _tls = _tls with { TargetHost = value };
                break;
            case "DANGEROUSACCEPTANYSERVERCERTIFICATE":
                _tls = _tls with { DangerousAcceptAnyServerCertificate = ParseBool(name, value) };
                break;
            default:
                throw new FormatException(
                    $"Unknown address option '{name}'. Known options: clientId, keepAlive, connectTimeout, cleanStart, cleanSession, sessionExpiry, version, " +
                    "receiveMaximum, maximumPacketSize, topicAliasMaximum, requestResponseInformation, requestProblemInformation, allowInsecureCredentials, " +
                    "allowLongClientId, codecContentType, topicAliases, readingThread, followRedirects, requestTimeout, responseTopicPrefix, caFile, certFile, keyFile, pfxFile, pfxPassword, targetHost, dangerousAcceptAnyServerCertificate.");
        }
    }

    private string? _pendingCertFile;
    private string? _pendingKeyFile;
    private string? _pendingPfxFile;
    private string? _pendingPfxPassword;

    private void LoadClientCertificateFromQuery()
    {
        var pemFile = _pendingCertFile ?? _pendingKeyFile;
        if (pemFile is not null && (_pendingCertFile is null || _pendingKeyFile is null))
        {
            throw new FormatException($"Address option {(_pendingCertFile is null ? "keyFile" : "certFile")} was given without {(_pendingCertFile is null ? "certFile" : "keyFile")}; a PEM client certificate needs both, or use pfxFile.");
        }

        if (pemFile is not null && _pendingPfxFile is not null)
        {
            throw new FormatException("Address options certFile/keyFile and pfxFile were both given; choose one client certificate.");
        }

        if (_pendingCertFile is not null && _pendingKeyFile is not null)
        {
            _tls = _tls with { ClientCertificate = CertificateFiles.LoadPemFiles(_pendingCertFile, _pendingKeyFile) };
        }
        else if (_pendingPfxFile is not null)
        {
            _tls = _tls with { ClientCertificate = CertificateFiles.LoadPfx(_pendingPfxFile, _pendingPfxPassword) };
        }

        _pendingCertFile = _pendingKeyFile = _pendingPfxFile = _pendingPfxPassword = null;
    }

    private static long ParseNumber(string name, string value, long min, long max)
    {
        if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < min || number > max)
        {
            throw new FormatException($"Address option '{name}' was '{value}': expected a whole number from {min} to {max}.");
        }

        return number;
    }

    private static bool ParseBool(string name, string value) => value.ToUpperInvariant() switch
    {
        "TRUE" or "1" or "YES" or "" => true,
        "FALSE" or "0" or "NO" => false,
        _ => throw new FormatException($"Address option '{name}' was '{value}': expected true or false."),
    };

    private static MqttVersion ParseVersion(string value) => value switch
    {
        "3.1" or "3" or "31" => MqttVersion.V310,
        "3.1.1" or "4" or "311" => MqttVersion.V311,
        "5" or "5.0" or "50" => MqttVersion.V500,
        _ => throw new FormatException($"Address option 'version' was '{value}': expected 3.1, 3.1.1 or 5."),
    };
}
