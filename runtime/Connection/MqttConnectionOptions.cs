using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace TypedMqtt;

/// <summary>
/// Everything needed to open one MQTT connection. Immutable: build one with <see cref="MqttConnectionOptionsBuilder"/>,
/// parse one from an address string with <see cref="Parse(string)"/>, or derive one with a <c>with</c> expression
/// (validated again when a connection is opened).
/// </summary>
public sealed record MqttConnectionOptions
{
    /// <summary>The value of <see cref="SessionExpiryInterval"/> meaning the session never expires (0xFFFFFFFF).</summary>
    public const uint SessionNeverExpires = uint.MaxValue;

    /// <summary>The longest client id every broker must accept (MQTT 3.1.1 section 3.1.3.1).</summary>
    public const int PortableClientIdBytes = 23;

    /// <summary>Parses an address such as <c>mqtts://user:pass@host:8883?clientId=a&amp;keepAlive=30</c> and validates the result.</summary>
    /// <param name="address">The broker address; see <see cref="MqttConnectionOptionsBuilder.FromAddress(string)"/> for the accepted form.</param>
    /// <exception cref="FormatException">The address is malformed or names an unknown option; the message says which part.</exception>
    /// <exception cref="ArgumentException">The options it describes are invalid; the message says what to change.</exception>
    public static MqttConnectionOptions Parse(string address) => MqttConnectionOptionsBuilder.FromAddress(address).Build();

    /// <summary>Transport chosen by the address scheme.</summary>
    public MqttTransport Transport { get; init; } = MqttTransport.Tcp;

    /// <summary>Broker host name or IP address.</summary>
    public string Host { get; init; } = "localhost";

    /// <summary>Broker port.</summary>
    public int Port { get; init; } = 1883;

    /// <summary>
    /// More brokers to fail over to, tried in order after <see cref="Host"/>:<see cref="Port"/> under the reconnect policy:
    /// a connection attempt that fails moves the next attempt to the next server, round the list. Same transport,
    /// credentials and options for all. Address: <c>mqtt://a:1883,b:1883</c>. <see cref="MqttConnectResult.ServerAddress"/>
    /// says which one answered.
    /// </summary>
    public IReadOnlyList<System.Net.DnsEndPoint> FailoverServers { get; init; } = [];

    /// <summary>
    /// How many server redirects (MQTT 5 CONNACK or DISCONNECT with 0x9C use another server or 0x9D server moved, and a
    /// Server Reference) one connection attempt follows. 0, the default, follows none: the attempt fails with the
    /// reference in <see cref="MqttConnectException.ServerReference"/>. Address: <c>followRedirects=2</c>.
    /// </summary>
    public int FollowRedirects { get; init; }

    /// <summary>Path of the WebSocket endpoint (<c>ws</c>/<c>wss</c> only), default <c>/mqtt</c>.</summary>
    public string WebSocketPath { get; init; } = "/mqtt";

    /// <summary>The client id sent in CONNECT. The builder generates a unique one when none is given.</summary>
    public string ClientId { get; init; } = string.Empty;

    /// <summary>True when <see cref="ClientId"/> was generated because none was given.</summary>
    public bool IsClientIdGenerated { get; init; }

    /// <summary>Allows a client id longer than 23 UTF-8 bytes (the length every broker must accept; many accept longer).</summary>
    public bool AllowLongClientId { get; init; }

    /// <summary>User name, or <see langword="null"/> for an anonymous connection.</summary>
    public string? UserName { get; init; }

    /// <summary>Password, or <see langword="null"/>.</summary>
    public string? Password { get; init; }

    /// <summary>
    /// Allows a user name or password over <c>mqtt://</c> or <c>ws://</c>, where anyone on the path can read them.
    /// Off by default: credentials without TLS are refused before any socket opens.
    /// </summary>
    public bool AllowInsecureCredentials { get; init; }

    /// <summary>How long to wait for the TCP, TLS and CONNACK handshakes together. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Keep alive period, whole seconds up to 65,535; <see cref="TimeSpan.Zero"/> turns keep alive off. Default 60 s.</summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>MQTT 5 Clean Start (the same bit as <see cref="CleanSession"/>): <see langword="true"/> discards any existing session. Default true.</summary>
    public bool CleanStart { get; init; } = true;

    /// <summary>MQTT 3.1/3.1.1 Clean Session: <see langword="false"/> asks for a persistent session. An alias of <see cref="CleanStart"/>.</summary>
    public bool CleanSession
    {
        get => CleanStart;
        init => CleanStart = value;
    }

    /// <summary>MQTT 5 session expiry in seconds: 0 ends the session with the connection, <see cref="SessionNeverExpires"/> keeps it forever.</summary>
    public uint SessionExpiryInterval { get; init; }

    /// <summary>Protocol version; default MQTT 5.0.</summary>
    public MqttVersion ProtocolVersion { get; init; } = MqttVersion.V500;

    /// <summary>The last will, or <see langword="null"/>.</summary>
    public MqttWill? Will { get; init; }

    /// <summary>MQTT 5: how many unacknowledged QoS 1/2 publishes the server may send us at once.</summary>
    public ushort? ReceiveMaximum { get; init; }

    /// <summary>MQTT 5: the largest packet we accept, in bytes.</summary>
    public uint? MaximumPacketSize { get; init; }

    /// <summary>MQTT 5: the highest topic alias the server may use toward us (0 = none).</summary>
    public ushort? TopicAliasMaximum { get; init; }

    /// <summary>MQTT 5: ask the server for response information in CONNACK.</summary>
    public bool RequestResponseInformation { get; init; }

    /// <summary>MQTT 5: whether the server may send reason strings and user properties on failures. Default true.</summary>
    public bool RequestProblemInformation { get; init; } = true;

    /// <summary>MQTT 5: user properties sent in CONNECT.</summary>
    public IReadOnlyList<MqttUserProperty> UserProperties { get; init; } = [];

    /// <summary>MQTT 5: enhanced authentication method (for example <c>SCRAM-SHA-1</c>).</summary>
    public string? AuthenticationMethod { get; init; }

    /// <summary>MQTT 5: initial enhanced authentication data.</summary>
    public ReadOnlyMemory<byte> AuthenticationData { get; init; }

    /// <summary>
    /// MQTT 5: runs a multi-step enhanced authentication exchange on every connect and re-authentication (in place of
    /// <see cref="AuthenticationMethod"/> and <see cref="AuthenticationData"/>); see <see cref="IMqttAuthenticator"/>.
    /// </summary>
    public IMqttAuthenticator? Authenticator { get; init; }

    /// <summary>
    /// MQTT 5, with an <see cref="Authenticator"/>: re-authenticate an open connection this often (a token refresh before
    /// it expires, for example). Null, the default, only on demand (<c>MqttConnection.ReauthenticateAsync</c>).
    /// </summary>
    public TimeSpan? ReauthenticateEvery { get; init; }

    /// <summary>TLS settings, used for <see cref="MqttTransport.Tls"/> and <see cref="MqttTransport.SecureWebSocket"/>.</summary>
    public MqttTlsOptions Tls { get; init; } = MqttTlsOptions.Default;

    /// <summary>Automatic reconnect policy. Default: on, 1 s to 120 s backoff with 25 % jitter.</summary>
    public MqttReconnectOptions Reconnect { get; init; } = MqttReconnectOptions.Default;

    /// <summary>
    /// Largest received payload handed to a decoder (default 1 MiB); larger ones are reported on
    /// <see cref="MqttConnection.MessageFailed"/> and skipped, the connection stays up. JSON nesting depth is limited by the
    /// JSON context's options (<c>MaxDepth</c>, 64 by default).
    /// </summary>
    public long MaxInboundPayloadBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// MQTT 5: whether typed publishes carry their codec's content type and payload format indicator (for JSON,
    /// <c>application/json</c> and UTF-8). Off by default: the properties cost about 20 bytes per message on the wire and
    /// measurably slow both clients, and most consumers do not read them. A content type declared on an operation
    /// (<c>[Publish(ContentType = ...)]</c>) or passed per call is always sent. Address: <c>codecContentType=true</c>.
    /// </summary>
    public bool SendCodecContentType { get; init; }

    /// <summary>
    /// MQTT 5: assign outbound topic aliases within the server's Topic Alias Maximum, so a PUBLISH to a topic already
    /// sent on this network connection carries a 2-byte alias instead of the topic. Per connection, reset on reconnect;
    /// the first topics published get the aliases and keep them (no replacement), the others go by name. On by default;
    /// it does nothing when the server allows no aliases. Address: <c>topicAliases=false</c>.
    /// </summary>
    public bool UseTopicAliases { get; init; } = true;

    /// <summary>
    /// Reads this connection on a thread of its own, with blocking reads, instead of on the thread pool; TCP only (with
    /// or without TLS, and over a <see cref="StreamConnector"/>'s stream). Each packet then wakes one thread, as in
    /// libmosquitto, and when nothing more has arrived that thread runs the work the packet brought: your handler, or
    /// the code after an <c>await</c> of a publish the packet acknowledged. Every socket operation of the connection is
    /// then synchronous: a write waits while the kernel's send buffer is full, and fails (losing the link) after
    /// max(<see cref="ConnectTimeout"/>, 1.5 x <see cref="KeepAlive"/>). For a few latency-bound connections (one QoS 1
    /// message at a time, request and reply): through Mosquitto on 2 cores, one QoS 1 publish at a time ran about 1.1-1.2
    /// x faster than on the thread pool, while with 64 in flight the thread pool was faster (see docs/performance.md).
    /// Not for thousands of connections (a thread each). Reading pauses while that code runs; code that runs longer than
    /// 50-100 ms hands reading to a new thread, so code that blocks on something only the reader brings (its own QoS 1
    /// publish) is held up for that long, not for ever. Off by default. Address: <c>readingThread=true</c>.
    /// </summary>
    public bool DedicatedReadingThread { get; init; }

    /// <summary>
    /// How long a request (a <c>[Request]</c> operation, or <see cref="MqttConnection.RequestAsync{TRequest, TResponse}"/>)
    /// waits for its reply unless the operation or the call sets its own; <see cref="Timeout.InfiniteTimeSpan"/> waits for
    /// ever. Default 30 s. Address: <c>requestTimeout</c> (seconds).
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// MQTT 5: where replies to this connection's requests are sent when the server gives no Response Information:
    /// <c>{ResponseTopicPrefix}/{clientId}</c>. Default <c>responses</c>. With <see cref="RequestResponseInformation"/> and a
    /// server that answers it, the reply topic is <c>{Response Information}/responses</c> instead. Address: <c>responseTopicPrefix</c>.
    /// </summary>
    public string ResponseTopicPrefix { get; init; } = "responses";

    /// <summary>How publishes are held while the connection is down. Default: 10,000 messages; QoS 0 drops the oldest, QoS 1/2 queue.</summary>
    public MqttOfflineQueueOptions OfflineQueue { get; init; } = MqttOfflineQueueOptions.Default;

    /// <summary>
    /// Durable storage for accepted QoS 1/2 publishes until they are acknowledged (see <see cref="MqttFileOutbox"/>), so a
    /// process crash loses none; a connection opened with it first sends what a previous process left. Default: none.
    /// </summary>
    public IMqttOutbox? Outbox { get; init; }

    /// <summary>
    /// Opens the byte stream to the broker in place of a TCP socket: an in-memory pipe in tests
    /// (<c>EmbeddedMqttBroker.StartInMemoryAsync</c> in TypedMqtt.Testing), a Unix domain socket, a tunnel. Called once per
    /// connection attempt, including reconnects; the connection disposes the stream. With <c>mqtts://</c> TLS runs over the
    /// stream. WebSocket addresses cannot use it. Default: none (a TCP socket to <see cref="Host"/> and <see cref="Port"/>).
    /// </summary>
    public Func<CancellationToken, ValueTask<Stream>>? StreamConnector { get; init; }

    /// <summary>Where the connection logs state changes, reconnects and security warnings. Default: nowhere.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>True for <c>mqtts</c> and <c>wss</c>.</summary>
    public bool UsesTls => Transport is MqttTransport.Tls or MqttTransport.SecureWebSocket;

    /// <summary>True for <c>ws</c> and <c>wss</c>.</summary>
    public bool UsesWebSocket => Transport is MqttTransport.WebSocket or MqttTransport.SecureWebSocket;

    /// <summary>The address without credentials, for messages and logs, e.g. <c>mqtts://broker:8883</c>.</summary>
    public string DisplayAddress
    {
        get
        {
            var scheme = Transport switch
            {
                MqttTransport.Tls => "mqtts",
                MqttTransport.WebSocket => "ws",
                MqttTransport.SecureWebSocket => "wss",
                _ => "mqtt",
            };
            var host = Host.Contains(':', StringComparison.Ordinal) ? "[" + Host + "]" : Host;
            return UsesWebSocket ? $"{scheme}://{host}:{Port}{WebSocketPath}" : $"{scheme}://{host}:{Port}";
        }
    }

    /// <summary>Credentials are never printed.</summary>
    /// <returns>A description of the options with the password elided.</returns>
    public override string ToString() =>
        $"{DisplayAddress} clientId={ClientId} version={ProtocolVersion} user={(UserName ?? "(anonymous)")} password={(Password is null ? "(none)" : "***")}";
}
