namespace TypedMqtt;

/// <summary>
/// The responder to a request failed: its handler threw, or it could not decode the request. <see cref="Exception.Message"/>
/// names the request topic; <see cref="RemoteMessage"/> and <see cref="RemoteErrorType"/> are what the responder sent.
/// Also thrown when the reply itself could not be decoded (then <see cref="Exception.InnerException"/> says why).
/// </summary>
public sealed class MqttRequestException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="topic">The request topic.</param>
    /// <param name="remoteErrorType">The responder's name for the error (its exception type), or <see langword="null"/>.</param>
    /// <param name="remoteMessage">The responder's error message.</param>
    /// <param name="innerException">A local cause (a reply that could not be decoded), or <see langword="null"/>.</param>
    public MqttRequestException(string topic, string? remoteErrorType, string remoteMessage, Exception? innerException = null)
        : base(remoteErrorType is null
            ? $"The reply to the request on '{topic}' could not be used: {remoteMessage}"
            : $"The responder to '{topic}' failed: {remoteMessage} ({remoteErrorType})", innerException)
    {
        Topic = topic;
        RemoteErrorType = remoteErrorType;
        RemoteMessage = remoteMessage;
    }

    /// <summary>Creates the exception.</summary>
    public MqttRequestException()
    {
        Topic = string.Empty;
        RemoteMessage = string.Empty;
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public MqttRequestException(string message)
        : base(message)
    {
        Topic = string.Empty;
        RemoteMessage = message;
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public MqttRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
        Topic = string.Empty;
        RemoteMessage = message;
    }

    /// <summary>The request topic.</summary>
    public string Topic { get; }

    /// <summary>The responder's name for the error (the full name of the exception its handler threw), or <see langword="null"/> when the failure is local.</summary>
    public string? RemoteErrorType { get; }

    /// <summary>The responder's error message (or, for a local failure, what went wrong).</summary>
    public string RemoteMessage { get; }
}

/// <summary>No reply to a request arrived in time. A reply that comes later is dropped and counted (<see cref="MqttConnectionStatistics.LateReplies"/>).</summary>
public sealed class MqttRequestTimeoutException : TimeoutException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="topic">The request topic.</param>
    /// <param name="timeout">How long the requester waited.</param>
    /// <param name="sent">Whether the request had been sent (and, for QoS 1/2, acknowledged by the broker).</param>
    /// <param name="innerException">The cancellation by the deadline, or <see langword="null"/>.</param>
    /// <param name="responseTopic">The response topic the reply was expected on, or <see langword="null"/>.</param>
    public MqttRequestTimeoutException(string topic, TimeSpan timeout, bool sent, Exception? innerException = null, string? responseTopic = null)
        : base(sent
            ? $"No reply to the request on '{topic}' within {timeout.TotalSeconds:0.###} s. The broker has the request: is a responder subscribed to it, and do the broker's ACLs let this client read its response topic{(responseTopic is null ? string.Empty : $" '{responseTopic}'")} and the responder publish there? (Mosquitto grants a subscription its ACL denies, then delivers nothing to it.)"
            : $"The request on '{topic}' could not even be sent within {timeout.TotalSeconds:0.###} s (the connection is down or the send queue is full).", innerException)
    {
        Topic = topic;
        Timeout = timeout;
        Sent = sent;
    }

    /// <summary>Creates the exception.</summary>
    public MqttRequestTimeoutException()
    {
        Topic = string.Empty;
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public MqttRequestTimeoutException(string message)
        : base(message)
    {
        Topic = string.Empty;
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public MqttRequestTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
        Topic = string.Empty;
    }

    /// <summary>The request topic.</summary>
    public string Topic { get; }

    /// <summary>How long the requester waited.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Whether the request had been sent (QoS 0: written; QoS 1/2: acknowledged by the broker) when the time ran out.</summary>
    public bool Sent { get; }
}
