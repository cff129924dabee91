namespace TypedMqtt;

/// <summary>The parts of an address string, before they become options.</summary>
internal sealed record MqttAddress(
    MqttTransport Transport,
    string Host,
    int? Port,
    string? Path,
    string? UserName,
    string? Password,
    IReadOnlyList<KeyValuePair<string, string>> Query)
{
    /// <summary>Failover servers after the first host (<c>mqtt://a:1883,b:1884</c>); a port of null takes the scheme's default.</summary>
    public IReadOnlyList<(string Host, int? Port)> Failover { get; init; } = [];

    private const string Form = "scheme://[user[:password]@]host[:port][,host2[:port]...][/path][?option=value&...] with scheme mqtt, mqtts, ws or wss";

    public static MqttAddress Parse(string address)
    {
        var text = address.Trim();
        if (text.Length == 0)
        {
            throw new FormatException($"The broker address is empty. Expected {Form}, for example mqtt://localhost:1883.");
        }

        var schemeEnd = text.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0)
        {
            throw new FormatException($"The broker address '{Redact(text)}' has no scheme. Expected {Form}, for example mqtt://{Redact(text)}.");
        }

        var scheme = text[..schemeEnd];
        var transport = scheme.ToUpperInvariant() switch
        {
            "MQTT" or "TCP" => MqttTransport.Tcp,
            "MQTTS" or "SSL" or "TLS" => MqttTransport.Tls,
            "WS" => MqttTransport.WebSocket,
            "WSS" => MqttTransport.SecureWebSocket,
            _ => throw new FormatException($"The broker address '{Redact(text)}' has the unknown scheme '{scheme}'. Use mqtt:// (TCP), mqtts:// (TLS), ws:// (WebSocket) or wss:// (WebSocket over TLS)."),
        };

        // Failover servers: host[:port] after the first, separated by commas (mqtt://a:1883,b:1883/...).
        var (single, failover) = SplitHosts(text, schemeEnd + 3);
        text = single;

        // System.Uri handles IPv6 literals, percent-encoding and user info; it needs a scheme it treats generically.
        if (!Uri.TryCreate("generic" + text[schemeEnd..], UriKind.Absolute, out var uri) || uri.HostNameType == UriHostNameType.Unknown)
        {
            throw new FormatException($"The broker address '{Redact(text)}' is not a valid address. Expected {Form}.");
        }

        var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host.Trim('[', ']') : uri.Host;
        if (host.Length == 0)
        {
            throw new FormatException($"The broker address '{Redact(text)}' has no host. Expected {Form}.");
        }

        int? port = uri.IsDefaultPort || uri.Port < 0 ? null : uri.Port;
        if (port == 0)
        {
            throw new FormatException($"The broker address '{Redact(text)}' has port 0; use a port from 1 to 65535 or leave it out for the scheme's default.");
        }

        if (uri.Fragment.Length > 0)
        {
            throw new FormatException($"The broker address '{Redact(text)}' has a fragment ('{uri.Fragment}'); options go in the query, as ?clientId=a&keepAlive=30.");
        }

        string? path = null;
        var isWebSocket = transport is MqttTransport.WebSocket or MqttTransport.SecureWebSocket;
        if (uri.AbsolutePath.Length > 1)
        {
            if (!isWebSocket)
            {
                throw new FormatException($"The broker address '{Redact(text)}' has a path ('{uri.AbsolutePath}'), but only ws:// and wss:// addresses take one.");
            }

            path = uri.AbsolutePath;
        }

        string? userName = null;
        string? password = null;
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            userName = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            password = colon < 0 ? null : Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
        }

        return new MqttAddress(transport, host, port, path, userName, password, ParseQuery(uri.Query, text)) { Failover = failover };
    }

    /// <summary>The address with only its first host, and the other hosts of a comma-separated list.</summary>
    private static (string Single, List<(string Host, int? Port)> Failover) SplitHosts(string text, int authorityStart)
    {
        var authorityEnd = text.IndexOfAny(['/', '?', '#'], authorityStart);
        authorityEnd = authorityEnd < 0 ? text.Length : authorityEnd;
        var hostsStart = text.LastIndexOf('@', authorityEnd - 1, authorityEnd - authorityStart) + 1;
        hostsStart = hostsStart <= 0 ? authorityStart : hostsStart;
        var hosts = text[hostsStart..authorityEnd].Split(',');
        if (hosts.Length == 1)
        {
            return (text, []);
        }

        var failover = new List<(string Host, int? Port)>();
        foreach (var server in hosts.Skip(1))
        {
            failover.Add(ParseServer(server) ?? throw new FormatException(
                $"The broker address '{Redact(text)}' lists the failover server '{server}', which is not host or host:port with a port from 1 to 65535. Separate servers with commas: mqtt://a:1883,b:1883."));
        }

        return (text[..hostsStart] + hosts[0] + text[authorityEnd..], failover);
    }

    /// <summary>
    /// One server as <c>host</c> or <c>host:port</c> (IPv6 in brackets), as failover lists and MQTT 5 Server References
    /// give them; the port is null when left out. Null when it is neither.
    /// </summary>
    public static (string Host, int? Port)? ParseServer(string server)
    {
        if (!Uri.TryCreate("generic://" + server.Trim(), UriKind.Absolute, out var uri) || uri.Host.Length == 0 || uri.AbsolutePath.Length > 1 || uri.Port == 0)
        {
            return null;
        }

        return (uri.HostNameType == UriHostNameType.IPv6 ? uri.Host.Trim('[', ']') : uri.Host, uri.IsDefaultPort || uri.Port < 0 ? null : uri.Port);
    }

    private static List<KeyValuePair<string, string>> ParseQuery(string query, string text)
    {
        var result = new List<KeyValuePair<string, string>>();
        if (query.Length <= 1)
        {
            return result;
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in query[1..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            var value = equals < 0 ? string.Empty : Uri.UnescapeDataString(pair[(equals + 1)..].Replace('+', ' '));
            if (!seen.Add(name))
            {
                throw new FormatException($"The broker address '{Redact(text)}' sets option '{name}' twice; give each option once.");
            }

            result.Add(new KeyValuePair<string, string>(name, value));
        }

        return result;
    }

    /// <summary>Hides the password in an address before it goes into a message.</summary>
    internal static string Redact(string address)
    {
        var schemeEnd = address.IndexOf("://", StringComparison.Ordinal);
        var start = schemeEnd < 0 ? 0 : schemeEnd + 3;
        var at = address.IndexOf('@', start);
        if (at < 0)
        {
            return address;
        }

        var colon = address.IndexOf(':', start);
        return colon >= 0 && colon < at ? address[..(colon + 1)] + "***" + address[at..] : address;
    }
}
