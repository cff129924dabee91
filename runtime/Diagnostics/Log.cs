using Microsoft.Extensions.Logging;

namespace TypedMqtt.Diagnostics;

/// <summary>
/// Every log event the runtime writes, in one place, under the category <c>TypedMqtt</c>. Event ids are stable and
/// documented in the README ("Telemetry and logging"): 1 StateChanged, 2 MessageFailed, 3 UnsafeTls, 4 ReconnectStopped,
/// 5 DeadConnection, 6 OutboxAcknowledgeFailed, 7 DisconnectNotWritten, 8 PublishRejected, 9 ReplyDropped,
/// 10 RequestFailed, 11 ReplyNotSent; TypedMqtt.Hosting adds 101 NotFlushed.
/// </summary>
internal static partial class Log
{
    /// <summary>
    /// A state change, at the level it deserves: connected and closed are Information; a lost connection and a session
    /// taken over are Warning; the retries while reconnecting (and the Connecting step) are Debug, so a broker that is down
    /// for an hour does not fill the log with one line per attempt.
    /// </summary>
    [LoggerMessage(EventId = 1, EventName = "StateChanged", Message = "MQTT {Address}: {Previous} -> {Current}: {Reason}")]
    public static partial void StateChanged(ILogger logger, LogLevel level, string address, MqttConnectionState previous, MqttConnectionState current, string reason);

    [LoggerMessage(EventId = 2, EventName = "MessageFailed", Level = LogLevel.Warning, Message = "MQTT message failed at {Stage} on topic {Topic} (filter {Filter})")]
    public static partial void MessageFailed(ILogger logger, Exception exception, MqttMessageErrorStage stage, string topic, string filter);

    [LoggerMessage(EventId = 3, EventName = "UnsafeTls", Level = LogLevel.Warning,
        Message = "MQTT {Address}: server certificate validation is OFF (DangerousAcceptAnyServerCertificate). Anyone on the network path can impersonate the broker and read every message and password.")]
    public static partial void UnsafeTls(ILogger logger, string address);

    [LoggerMessage(EventId = 4, EventName = "ReconnectStopped", Level = LogLevel.Error,
        Message = "MQTT {Address}: the session was taken over by another client with the same id; not reconnecting (SessionTakenOverDelay is infinite).")]
    public static partial void ReconnectStopped(ILogger logger, string address);

    [LoggerMessage(EventId = 5, EventName = "DeadConnection", Level = LogLevel.Warning,
        Message = "MQTT {Address}: no PINGRESP within {KeepAlive} s; closing the dead connection and reconnecting.")]
    public static partial void DeadConnection(ILogger logger, string address, double keepAlive);

    [LoggerMessage(EventId = 6, EventName = "OutboxAcknowledgeFailed", Level = LogLevel.Warning,
        Message = "The outbox could not record the acknowledgement of entry {OutboxId}; it will be sent again by the next process that opens the outbox.")]
    public static partial void OutboxAcknowledgeFailed(ILogger logger, long outboxId, Exception exception);

    [LoggerMessage(EventId = 7, EventName = "DisconnectNotWritten", Level = LogLevel.Debug, Message = "MQTT {Address}: DISCONNECT could not be written; the socket is closed anyway.")]
    public static partial void DisconnectNotWritten(ILogger logger, string address, Exception exception);

    [LoggerMessage(EventId = 8, EventName = "PublishRejected", Level = LogLevel.Warning, Message = "MQTT {Address}: the publish to {Topic} was given up: {Reason}")]
    public static partial void PublishRejected(ILogger logger, string address, string topic, string reason);

    [LoggerMessage(EventId = 9, EventName = "ReplyDropped", Level = LogLevel.Debug, Message = "MQTT {Address}: a reply on {Topic} was dropped: {Reason}")]
    public static partial void ReplyDropped(ILogger logger, string address, string topic, string reason);

    [LoggerMessage(EventId = 10, EventName = "RequestFailed", Level = LogLevel.Warning, Message = "MQTT {Address}: the request on {Topic} failed; an error reply goes to the requester")]
    public static partial void RequestFailed(ILogger logger, string address, string topic, Exception exception);

    [LoggerMessage(EventId = 11, EventName = "ReplyNotSent", Level = LogLevel.Warning, Message = "MQTT {Address}: the reply to the request on {Topic} could not be sent: {Reason}")]
    public static partial void ReplyNotSent(ILogger logger, string address, string topic, string reason, Exception? exception);

    [LoggerMessage(EventId = 12, EventName = "ReauthenticationFailed", Level = LogLevel.Warning, Message = "MQTT {Address}: scheduled re-authentication failed: {Reason}")]
    public static partial void ReauthenticationFailed(ILogger logger, string address, string reason, Exception exception);

    [LoggerMessage(EventId = 13, EventName = "EventHandlerFailed", Level = LogLevel.Warning, Message = "MQTT {Address}: a handler of the {Event} event threw; the connection goes on (catch exceptions in event handlers)")]
    public static partial void EventHandlerFailed(ILogger logger, string address, string @event, Exception exception);
}
