namespace TypedMqtt;

/// <summary>How bytes reach the broker, named after the address scheme.</summary>
public enum MqttTransport
{
    /// <summary><c>mqtt://</c>: plain TCP, default port 1883.</summary>
    Tcp,

    /// <summary><c>mqtts://</c>: TCP with TLS, default port 8883.</summary>
    Tls,

    /// <summary><c>ws://</c>: WebSocket, default port 8083, default path <c>/mqtt</c>.</summary>
    WebSocket,

    /// <summary><c>wss://</c>: WebSocket over TLS, default port 8084, default path <c>/mqtt</c>.</summary>
    SecureWebSocket,
}
