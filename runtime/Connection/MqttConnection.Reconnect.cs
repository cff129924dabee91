using Microsoft.Extensions.Logging;
using MQTTnet;

namespace TypedMqtt;

public sealed partial class MqttConnection
{
    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs e)
    {
        if (_closing || !e.ClientWasConnected)
        {
            return Task.CompletedTask;
        }

        var code = (int)e.Reason;
        var takenOver = e.Reason == MqttClientDisconnectReason.SessionTakenOver;
        var reason = e.Exception is not null && code == 0
            ? $"the connection to {Options.DisplayAddress} was lost: {e.Exception.GetBaseException().Message}"
            : MqttReasonText.ForDisconnect(code) + (string.IsNullOrEmpty(e.ReasonString) ? string.Empty : $" (\"{e.ReasonString}\")");
        SetState(takenOver ? MqttConnectionState.SessionTakenOver : MqttConnectionState.Disconnected, reason, code == 0 ? null : code, e.Exception);

        if (Options.Reconnect.Enabled)
        {
            _reconnectLoop = Task.Run(() => ReconnectLoopAsync(takenOver));
        }

        return Task.CompletedTask;
    }

    private async Task ReconnectLoopAsync(bool afterTakeOver)
    {
        var token = _lifetime.Token;
        var policy = Options.Reconnect;
        var attempt = 0;
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
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (MqttConnectException e)
            {
                SetState(MqttConnectionState.Disconnected, $"reconnect attempt {attempt} failed: {e.Message}", e.ReasonCode, e);
                afterTakeOver = false;
                continue;
            }

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
