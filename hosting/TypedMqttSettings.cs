namespace TypedMqtt.Hosting;

/// <summary>
/// A connection's settings as they come from configuration (for example the "Mqtt" section of appsettings.json):
/// <code>
/// "Mqtt": {
///   "Address": "mqtts://broker:8883",
///   "ClientId": "orders-1", "UserName": "svc", "Password": "...",
///   "Options": { "keepAlive": "30", "cleanStart": "false", "sessionExpiry": "3600", "caFile": "/etc/ca.pem" }
/// }
/// </code>
/// <see cref="Options"/> takes every option an address takes (see <see cref="MqttConnectionOptionsBuilder.FromAddress(string)"/>),
/// by the same names, so a setting can sit in the address or apart from it. The code's own settings
/// (<c>AddTypedMqtt(section, builder =&gt; ...)</c>) apply last.
/// </summary>
public sealed class TypedMqttSettings
{
    /// <summary>The broker address, for example <c>mqtt://localhost:1883</c> or <c>mqtts://broker:8883?clientId=a</c>. Required.</summary>
    public string? Address { get; set; }

    /// <summary>The client id (overrides one in the address).</summary>
    public string? ClientId { get; set; }

    /// <summary>The user name (overrides one in the address).</summary>
    public string? UserName { get; set; }

    /// <summary>The password (overrides one in the address).</summary>
    public string? Password { get; set; }

    /// <summary>Further options by their address names (<c>keepAlive</c>, <c>cleanStart</c>, <c>version</c>...).</summary>
    public Dictionary<string, string> Options { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// How long a graceful stop waits for queued and unacknowledged QoS 1/2 publishes before it disconnects; the host's
    /// own shutdown timeout still bounds it. Default 5 s.
    /// </summary>
    public TimeSpan FlushTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
