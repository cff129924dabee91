namespace TypedMqtt;

/// <summary>The state of an <see cref="MqttConnection"/>.</summary>
public enum MqttConnectionState
{
    /// <summary>A connect (or reconnect) attempt is in progress.</summary>
    Connecting,

    /// <summary>CONNACK received; messages flow.</summary>
    Connected,

    /// <summary>The connection dropped; the reconnect policy decides what happens next.</summary>
    Disconnected,

    /// <summary>
    /// Another client connected with the same client id and the broker closed this connection (MQTT 5 reason 0x8E).
    /// The connection does not fight back: automatic reconnect backs off hard (see the reconnect options).
    /// </summary>
    SessionTakenOver,

    /// <summary>Disconnected by the application or disposed; it will not reconnect.</summary>
    Closed,
}

/// <summary>Describes a change of <see cref="MqttConnection.State"/>.</summary>
public sealed class MqttConnectionStateChangedEventArgs : EventArgs
{
    /// <summary>Creates the event arguments.</summary>
    /// <param name="previous">State before.</param>
    /// <param name="current">State after.</param>
    /// <param name="reason">Why, in a sentence.</param>
    /// <param name="disconnectReasonCode">DISCONNECT reason code from the server (MQTT 5), if any.</param>
    /// <param name="exception">Transport error, if any.</param>
    public MqttConnectionStateChangedEventArgs(MqttConnectionState previous, MqttConnectionState current, string reason, int? disconnectReasonCode = null, Exception? exception = null)
    {
        Previous = previous;
        Current = current;
        Reason = reason;
        DisconnectReasonCode = disconnectReasonCode;
        Exception = exception;
    }

    /// <summary>State before the change.</summary>
    public MqttConnectionState Previous { get; }

    /// <summary>State after the change.</summary>
    public MqttConnectionState Current { get; }

    /// <summary>Why the state changed, in a sentence.</summary>
    public string Reason { get; }

    /// <summary>DISCONNECT reason code (MQTT 5 numbering) when the server sent one.</summary>
    public int? DisconnectReasonCode { get; }

    /// <summary>The transport error that ended the connection, if any.</summary>
    public Exception? Exception { get; }

    /// <summary>True when another client took over this client id's session.</summary>
    public bool IsSessionTakenOver => Current == MqttConnectionState.SessionTakenOver;

    /// <summary>The change in one line, for logs and debuggers: <c>Connected -&gt; Disconnected: keep-alive timeout (reason 0x8D)</c>.</summary>
    /// <returns>The description.</returns>
    public override string ToString() =>
        $"{Previous} -> {Current}: {Reason}" + (DisconnectReasonCode is { } code ? $" (reason 0x{code:X2})" : string.Empty);
}
