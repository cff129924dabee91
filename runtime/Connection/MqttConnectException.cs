namespace TypedMqtt;

/// <summary>Why a connection attempt failed.</summary>
public enum MqttConnectFailure
{
    /// <summary>The server answered CONNACK with a failure reason code; see <see cref="MqttConnectException.ReasonCode"/>.</summary>
    Refused,

    /// <summary>No CONNACK within the connect timeout.</summary>
    Timeout,

    /// <summary>The TLS handshake failed, for example because the server certificate was not trusted.</summary>
    Tls,

    /// <summary>The socket could not be opened or closed during the handshake.</summary>
    Transport,

    /// <summary>The broker sent a malformed packet or broke the protocol (<see cref="MqttConnectException.ReasonCode"/> 0x81, 0x82 or 0x95).</summary>
    ProtocolViolation,
}

/// <summary>A connection attempt failed. The message says why in a sentence; <see cref="ReasonCode"/> carries the CONNACK code.</summary>
public sealed class MqttConnectException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="failure">The kind of failure.</param>
    /// <param name="reasonCode">The CONNACK reason code (MQTT 5 numbering), when the server refused.</param>
    /// <param name="message">The sentence that explains it.</param>
    /// <param name="innerException">The underlying error.</param>
    public MqttConnectException(MqttConnectFailure failure, int? reasonCode, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Failure = failure;
        ReasonCode = reasonCode;
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public MqttConnectException(string message)
        : this(MqttConnectFailure.Transport, null, message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public MqttConnectException(string message, Exception innerException)
        : this(MqttConnectFailure.Transport, null, message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public MqttConnectException()
        : this(MqttConnectFailure.Transport, null, "The connection attempt failed.")
    {
    }

    /// <summary>The kind of failure.</summary>
    public MqttConnectFailure Failure { get; }

    /// <summary>
    /// MQTT 5: the Server Reference of a redirect (CONNACK 0x9C use another server or 0x9D server moved), when the server
    /// gave one; follow it by hand, or let the connection do it with <see cref="MqttConnectionOptions.FollowRedirects"/>.
    /// </summary>
    public string? ServerReference { get; init; }

    /// <summary>The CONNACK reason code in MQTT 5 numbering (3.1.1 return codes are mapped), or <see langword="null"/>.</summary>
    public int? ReasonCode { get; }

    /// <summary>The reason string the server sent with CONNACK, if any.</summary>
    public string? ServerReason { get; init; }
}
