namespace TypedMqtt;

/// <summary>Plain sentences for CONNACK and DISCONNECT reason codes (MQTT 5 numbering).</summary>
internal static class MqttReasonText
{
    public static string ForConnect(int code) => code switch
    {
        0x80 => "the server refused the connection without saying why (0x80 unspecified error)",
        0x81 => "the server could not parse our CONNECT packet (0x81 malformed packet)",
        0x82 => "the server saw a protocol error (0x82)",
        0x83 => "the server refused the CONNECT for an implementation-specific reason (0x83)",
        0x84 => "the server does not support the requested MQTT version (0x84 unsupported protocol version); try another version",
        0x85 => "the server rejected the client id (0x85 client identifier not valid); check its length and characters",
        0x86 => "the user name or password is wrong (0x86 bad user name or password)",
        0x87 => "this client is not authorized to connect (0x87 not authorized)",
        0x88 => "the server is unavailable (0x88 server unavailable)",
        0x89 => "the server is busy (0x89 server busy); try again later",
        0x8A => "this client is banned by the server (0x8A banned)",
        0x8C => "the server does not support the authentication method (0x8C bad authentication method)",
        0x90 => "the will topic was rejected (0x90 topic name invalid)",
        0x95 => "the CONNECT packet was too large for the server (0x95 packet too large)",
        0x97 => "a server quota was exceeded (0x97 quota exceeded)",
        0x99 => "the will payload does not match its payload format indicator (0x99 payload format invalid)",
        0x9A => "the server does not support retained messages, but the will asks for retain (0x9A retain not supported)",
        0x9B => "the server does not support the will's QoS (0x9B QoS not supported)",
        0x9C => "the server asks the client to use another server (0x9C use another server)",
        0x9D => "the server has moved (0x9D server moved)",
        0x9F => "the client connects too often (0x9F connection rate exceeded); slow down",
        _ => $"the server refused the connection with reason code 0x{code:X2}",
    };

    /// <summary>The name of a PUBACK/PUBREC/PUBCOMP reason code.</summary>
    public static string PublishReason(int code) => code switch
    {
        0x80 => "UnspecifiedError",
        0x83 => "ImplementationSpecificError",
        0x87 => "NotAuthorized",
        0x90 => "TopicNameInvalid",
        0x91 => "PacketIdentifierInUse",
        0x92 => "PacketIdentifierNotFound",
        0x97 => "QuotaExceeded",
        0x99 => "PayloadFormatInvalid",
        _ => "Error",
    };

    public static string ForDisconnect(int code) => code switch
    {
        0x00 => "the connection was closed normally",
        0x04 => "the connection was closed with the will message",
        0x80 => "the server closed the connection without saying why (0x80)",
        0x81 => "the server closed the connection after a malformed packet (0x81)",
        0x82 => "the server closed the connection after a protocol error (0x82)",
        0x87 => "the server closed the connection: not authorized (0x87)",
        0x89 => "the server is busy (0x89)",
        0x8B => "the server is shutting down (0x8B)",
        0x8D => "the server saw no traffic within the keep alive period (0x8D keep alive timeout)",
        0x8E => "another client connected with the same client id and took over the session (0x8E session taken over)",
        0x8F => "the server rejected a topic filter (0x8F)",
        0x90 => "the server rejected a topic name (0x90)",
        0x93 => "the client exceeded the server's receive maximum (0x93)",
        0x94 => "the server rejected a topic alias (0x94)",
        0x95 => "a packet was too large for the server (0x95)",
        0x96 => "the client publishes too fast (0x96 message rate too high)",
        0x97 => "a server quota was exceeded (0x97)",
        0x98 => "an administrator closed the connection (0x98)",
        0x99 => "a payload did not match its payload format indicator (0x99)",
        0x9A => "the server does not support retained messages (0x9A)",
        0x9B => "the server does not support that QoS (0x9B)",
        0x9C => "the server asks the client to use another server (0x9C)",
        0x9D => "the server has moved (0x9D)",
        0x9E => "the server does not support shared subscriptions (0x9E)",
        0x9F => "the client connects too often (0x9F)",
        0xA0 => "the maximum connect time was reached (0xA0)",
        0xA1 => "the server does not support subscription identifiers (0xA1)",
        0xA2 => "the server does not support wildcard subscriptions (0xA2)",
        _ => $"the server closed the connection with reason code 0x{code:X2}",
    };
}
