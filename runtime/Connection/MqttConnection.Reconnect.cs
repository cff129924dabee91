using TypedMqtt.Diagnostics;

namespace TypedMqtt;

public sealed partial class MqttConnection
{
    // A connection that ends sooner than this after CONNACK does not reset the backoff: otherwise a connection that is
    // closed again right after every reconnect (for example two clients sharing an id on a broker that closes the old
    // connection without DISCONNECT 0x8E, as Mosquitto 2.0.11 does) would reconnect every MinDelay forever.
    private static readonly TimeSpan StableConnection = TimeSpan.FromSeconds(30);

    private Task _reconnectLoop = Task.CompletedTask;
    private long _connectedAtTicks;
    private int _shortConnections;

    private void OnConnected() => Volatile.Write(ref _connectedAtTicks, Environment.TickCount64);

    private void OnLinkLost()
    {
        var lived = TimeSpan.FromMilliseconds(Environment.TickCount64 - Volatile.Read(ref _connectedAtTicks));
        _shortConnections = lived < StableConnection ? _shortConnections + 1 : 0;
    }

    private void StartReconnecting(bool afterTakeOver)
    {
        if (Options.Reconnect.Enabled)
        {
            var previousAttempts = Math.Max(_shortConnections - 1, 0);
            _reconnectLoop = Task.Run(() => ReconnectLoopAsync(afterTakeOver, previousAttempts));
        }
    }

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
                Log.ReconnectStopped(_logger, Options.DisplayAddress);
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
                return;
            }
            catch (MqttConnectException e)
            {
                SetState(MqttConnectionState.Disconnected, $"reconnect attempt {attempt - previousAttempts} failed: {e.Message}", e.ReasonCode, e);
                afterTakeOver = false;
                continue;
            }

            Interlocked.Increment(ref _reconnects);
            if (!ConnectResult.IsSessionPresent && _link is { } link)
            {
                await _router.RestoreAsync(link, (filter, e) => SubscriptionFailed?.Invoke(this, new MqttSubscriptionFailedEventArgs(filter, e)), token).ConfigureAwait(false);
            }

            return;
        }
    }
}
