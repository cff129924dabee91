using Microsoft.Extensions.Logging;
using MQTTnet;

namespace TypedMqtt;

public sealed partial class MqttConnection
{
    // A connection that ends sooner than this after CONNACK does not reset the backoff: otherwise a connection that is
    // closed again right after every reconnect (for example two clients sharing an id on a broker that closes the old
    // connection without DISCONNECT 0x8E, as Mosquitto 2.0.11 does) would reconnect every MinDelay forever.
    private static readonly TimeSpan StableConnection = TimeSpan.FromSeconds(30);

    private long _connectedAtTicks;
    private int _shortConnections;

    private void OnConnected() => Volatile.Write(ref _connectedAtTicks, Environment.TickCount64);

    private async Task ReconnectLoopAsync(bool afterTakeOver, int previousAttempts)
    {
        var token = _lifetime.Token;
        var policy = Options.Reconnect;
        var attempt = previousAttempts;
        while (!token.IsCancellationRequested)
        {
            attempt++;
            var delay = afterTakeOver ? policy.SessionTakenOverDelay : policy.DelayFor(attempt);
            if (delay == Timeout.InfiniteTimeSpan)
            {
                LogReconnectStopped(_logger, Options.DisplayAddress, null);
                return;
            }

            try
            {
                await Task.Delay(delay, token).ConfigureAwait(false);
                Interlocked.Increment(ref _reconnectAttempts);
                await ConnectOnceAsync(token).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Once the connection is closing, how the in-flight attempt failed no longer matters.
            catch (Exception) when (token.IsCancellationRequested)
#pragma warning restore CA1031
            {
                // Closed while an attempt was in flight: MQTTnet then fails it with its own exceptions (for example
                // MqttConnectingFailedException), which must not escape from DisconnectAsync or DisposeAsync.
                return;
            }
            catch (MqttConnectException e)
            {
                SetState(MqttConnectionState.Disconnected, $"reconnect attempt {attempt - previousAttempts} failed: {e.Message}", e.ReasonCode, e);
                afterTakeOver = false;
                continue;
            }

            Interlocked.Increment(ref _reconnects);
            if (!ConnectResult.IsSessionPresent)
            {
                await RestoreSubscriptionsAsync(token).ConfigureAwait(false);
            }

            return;
        }
    }

    private async Task RestoreSubscriptionsAsync(CancellationToken cancellationToken)
    {
        foreach (var entry in _subscriptions.Snapshot())
        {
            try
            {
                await SendSubscribeAsync(entry, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is MqttOperationException or MQTTnet.Exceptions.MqttCommunicationException)
            {
                SubscriptionFailed?.Invoke(this, new MqttSubscriptionFailedEventArgs(entry.Filter, e));
            }
        }
    }

    private static readonly Action<ILogger, string, Exception?> LogReconnectStopped =
        LoggerMessage.Define<string>(LogLevel.Warning, new EventId(4, "ReconnectStopped"),
            "MQTT {Address}: the session was taken over by another client with the same id; not reconnecting (SessionTakenOverDelay is infinite).");
}
