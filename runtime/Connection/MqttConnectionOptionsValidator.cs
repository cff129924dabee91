using System.Text;
using TypedMqtt.Topics;

namespace TypedMqtt;

/// <summary>Checks <see cref="MqttConnectionOptions"/> before any socket opens.</summary>
internal static class MqttConnectionOptionsValidator
{
    public static void ThrowIfInvalid(MqttConnectionOptions options)
    {
        var error = FindError(options);
        if (error is not null)
        {
            throw new ArgumentException(error, nameof(options));
        }
    }

    public static string? FindError(MqttConnectionOptions o)
    {
        var v5 = o.ProtocolVersion == MqttVersion.V500;
        if (o.MaxInboundPayloadBytes < 1 || o.OfflineQueue.Capacity < 1)
        {
            return o.MaxInboundPayloadBytes < 1
                ? $"MaxInboundPayloadBytes is {o.MaxInboundPayloadBytes}; it must be at least 1 (default 1 MiB)."
                : $"OfflineQueue.Capacity is {o.OfflineQueue.Capacity}; it must be at least 1 (default 10,000).";
        }

        return CheckAddress(o)
            ?? CheckClientId(o)
            ?? CheckCredentials(o)
            ?? CheckTimings(o)
            ?? CheckSession(o, v5)
            ?? CheckVersion5Only(o, v5)
            ?? CheckWill(o.Will, v5)
            ?? CheckTls(o);
    }

    private static string? CheckAddress(MqttConnectionOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.Host))
        {
            return "Host is empty; give the broker's host name or IP address, as in mqtt://broker.example.com.";
        }

        if (o.Port is < 1 or > 65535)
        {
            return $"Port {o.Port} is out of range; use 1-65535.";
        }

        if (o.UsesWebSocket && o.StreamConnector is not null)
        {
            return $"A stream connector replaces the TCP socket and cannot carry WebSocket ({o.DisplayAddress}); use an mqtt:// or mqtts:// address with it.";
        }

        if (o.UsesWebSocket && o.DedicatedReadingThread)
        {
            return $"DedicatedReadingThread reads with blocking calls, which WebSocket does not offer ({o.DisplayAddress}); use an mqtt:// or mqtts:// address with it, or leave it off.";
        }

        return o.UsesWebSocket && !o.WebSocketPath.StartsWith('/')
            ? $"WebSocketPath '{o.WebSocketPath}' must start with '/', as in /mqtt."
            : null;
    }

    private static string? CheckClientId(MqttConnectionOptions o)
    {
        var utf8 = TopicRules.CheckUtf8String(o.ClientId, "ClientId");
        if (utf8 is not null)
        {
            return utf8;
        }

        var bytes = Encoding.UTF8.GetByteCount(o.ClientId);
        if (bytes > MqttConnectionOptions.PortableClientIdBytes && !o.AllowLongClientId)
        {
            return $"ClientId '{o.ClientId}' is {bytes} UTF-8 bytes; brokers must only accept up to {MqttConnectionOptions.PortableClientIdBytes}. " +
                   "Shorten it, or set AllowLongClientId (allowLongClientId=true) if your broker accepts longer ids.";
        }

        if (o.IsClientIdGenerated && !o.CleanStart && o.ProtocolVersion != MqttVersion.V500)
        {
            return "MQTT 3.1/3.1.1 needs a client id for a persistent session (clean session false): set ClientId to a stable id, or use a clean session.";
        }

        return null;
    }

    private static string? CheckCredentials(MqttConnectionOptions o)
    {
        if ((o.UserName is not null || o.Password is not null) && !o.UsesTls && !o.AllowInsecureCredentials)
        {
            return $"Credentials would be sent in clear text over {o.DisplayAddress}. Use mqtts:// or wss://, or opt in with AllowInsecureCredentials (allowInsecureCredentials=true) for a trusted network.";
        }

        if (o.Password is not null && o.UserName is null && o.ProtocolVersion != MqttVersion.V500)
        {
            return "A password without a user name is only allowed in MQTT 5; set UserName as well.";
        }

        return (o.UserName is null ? null : TopicRules.CheckUtf8String(o.UserName, "UserName"))
            ?? (o.Password is null ? null : TopicRules.CheckUtf8String(o.Password, "Password"));
    }

    private static string? CheckTimings(MqttConnectionOptions o)
    {
        if (o.ConnectTimeout <= TimeSpan.Zero)
        {
            return $"ConnectTimeout is {o.ConnectTimeout}; it must be positive (default 10 s).";
        }

        if (o.KeepAlive < TimeSpan.Zero || o.KeepAlive.TotalSeconds > ushort.MaxValue || o.KeepAlive.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            return $"KeepAlive is {o.KeepAlive}; it must be whole seconds from 0 (off) to 65535.";
        }

        if (o.RequestTimeout <= TimeSpan.Zero && o.RequestTimeout != Timeout.InfiniteTimeSpan)
        {
            return $"RequestTimeout is {o.RequestTimeout}; it must be positive, or Timeout.InfiniteTimeSpan to wait for ever (default 30 s).";
        }

        if (TopicRules.CheckTopicName(o.ResponseTopicPrefix ?? string.Empty) is { } prefixError)
        {
            return $"ResponseTopicPrefix '{TopicRules.Printable(o.ResponseTopicPrefix ?? string.Empty)}' is not a valid topic name: {prefixError}";
        }

        return null;
    }

    private static string? CheckSession(MqttConnectionOptions o, bool v5) =>
        !v5 && o.SessionExpiryInterval != 0
            ? $"SessionExpiryInterval is an MQTT 5 feature but the connection uses {Describe(o.ProtocolVersion)}; use CleanSession=false for a persistent session, or version=5."
            : null;

    private static string? CheckVersion5Only(MqttConnectionOptions o, bool v5)
    {
        if (v5)
        {
            if (o.ReceiveMaximum == 0)
            {
                return "ReceiveMaximum is 0; it must be 1-65535 (leave it unset for the protocol default 65535).";
            }

            if (o.MaximumPacketSize == 0)
            {
                return "MaximumPacketSize is 0; it must be at least 1 (leave it unset for no limit).";
            }

            return CheckUserProperties(o.UserProperties, "Connect user property")
                ?? (o.AuthenticationMethod is null ? null : TopicRules.CheckUtf8String(o.AuthenticationMethod, "AuthenticationMethod"))
                ?? (o.AuthenticationMethod is null && !o.AuthenticationData.IsEmpty ? "AuthenticationData needs an AuthenticationMethod." : null)
                ?? (o.Authenticator is not null && o.AuthenticationMethod is not null ? "Give either an Authenticator or an AuthenticationMethod, not both: the authenticator names its own method." : null)
                ?? (o.Authenticator is not null && TopicRules.CheckUtf8String(o.Authenticator.Method ?? string.Empty, "Authenticator.Method") is { } methodError ? methodError : null)
                ?? (o.ReauthenticateEvery is { } every && (o.Authenticator is null || every <= TimeSpan.Zero) ? "ReauthenticateEvery needs an Authenticator and a positive interval." : null);
        }

        string? feature =
            o.ReceiveMaximum is not null ? "ReceiveMaximum" :
            o.MaximumPacketSize is not null ? "MaximumPacketSize" :
            o.TopicAliasMaximum is not null ? "TopicAliasMaximum" :
            o.RequestResponseInformation ? "RequestResponseInformation" :
            !o.RequestProblemInformation ? "RequestProblemInformation" :
            o.UserProperties.Count > 0 ? "UserProperties" :
            o.AuthenticationMethod is not null || !o.AuthenticationData.IsEmpty || o.Authenticator is not null ? "Authentication" : null;
        return feature is null ? null
            : $"{feature} is an MQTT 5 feature but the connection uses {Describe(o.ProtocolVersion)}; remove it or use version=5.";
    }

    private static string? CheckWill(MqttWill? will, bool v5)
    {
        if (will is null)
        {
            return null;
        }

        var topic = TopicRules.CheckTopicName(will.Topic);
        if (topic is not null)
        {
            return "Will topic is invalid: " + topic;
        }

        if (will.Qos is < MqttQos.AtMostOnce or > MqttQos.ExactlyOnce)
        {
            return $"Will QoS {(int)will.Qos} is invalid; use 0, 1 or 2.";
        }

        if (!v5 && (will.DelayInterval != 0 || !will.Properties.IsEmpty))
        {
            return "Will delay interval and will properties are MQTT 5 features; remove them or use version=5.";
        }

        return CheckMessageProperties(will.Properties, "Will");
    }

    // Runs on every publish with properties: strings are built only when something is wrong.
    internal static string? CheckMessageProperties(MqttMessageProperties p, string what) =>
        (p.ContentType is null || TopicRules.IsWellFormed(p.ContentType) ? null : TopicRules.CheckUtf8String(p.ContentType, what + " content type"))
        ?? (p.ResponseTopic is null || TopicRules.CheckTopicName(p.ResponseTopic) is not { } responseError ? null : what + " response topic is invalid: " + responseError)
        ?? (p.UserProperties.Count == 0 ? null : CheckUserProperties(p.UserProperties, what + " user property"));

    internal static string? CheckUserProperties(IReadOnlyList<MqttUserProperty> properties, string what)
    {
        for (var i = 0; i < properties.Count; i++)
        {
            var property = properties[i];
            if (TopicRules.IsWellFormed(property.Name ?? string.Empty) && TopicRules.IsWellFormed(property.Value ?? string.Empty))
            {
                continue;
            }

            var error = TopicRules.CheckUtf8String(property.Name ?? string.Empty, $"{what} name '{TopicRules.Printable(property.Name ?? string.Empty)}'")
                ?? TopicRules.CheckUtf8String(property.Value ?? string.Empty, $"{what} '{TopicRules.Printable(property.Name ?? string.Empty)}' value");
            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    private static string? CheckTls(MqttConnectionOptions o)
    {
        if (o.UsesTls)
        {
            return null;
        }

        var tls = o.Tls;
        return tls.TrustedCaCertificates is not null || tls.ClientCertificate is not null || tls.TargetHost is not null || tls.DangerousAcceptAnyServerCertificate
            ? $"TLS settings were given but {o.DisplayAddress} does not use TLS, so they would be ignored. Use mqtts:// or wss://."
            : null;
    }

    internal static string Describe(MqttVersion version) => version switch
    {
        MqttVersion.V310 => "MQTT 3.1",
        MqttVersion.V311 => "MQTT 3.1.1",
        _ => "MQTT 5.0",
    };
}
