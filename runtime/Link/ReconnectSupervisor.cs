using Microsoft.Extensions.Logging;
using TypedMqtt.Diagnostics;

namespace TypedMqtt.Link;

/// <summary>What a <see cref="ReconnectSupervisor"/> reconnects (an interface, not three delegates: one connection of many idle ones keeps less).</summary>
internal interface IReconnectTarget
{
    /// <summary>One connect attempt (throws <see cref="MqttConnectException"/> on failure).</summary>
    Task ConnectOnceAsync(CancellationToken cancellationToken);

    /// <summary>Reports a failed attempt.</summary>
    void ReconnectAttemptFailed(int attempt, MqttConnectException exception);

    /// <summary>Runs after a successful reconnect.</summary>
    Task ReconnectedAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Creates the next link after one is lost: exponential backoff with jitter, one attempt at a time, until an attempt
/// succeeds or the connection closes. A connection that ends sooner than <see cref="StableConnection"/> after CONNACK
/// does not reset the backoff (two clients sharing an id on a broker that closes the old connection without 0x8E, as
/// Mosquitto 2.0.11 does, would otherwise fight every MinDelay forever); after a session take-over it waits
/// <see cref="MqttReconnectOptions.SessionTakenOverDelay"/>.
/// </summary>
/// <param name="policy">The backoff.</param>
/// <param name="address">The broker, for log messages.</param>
/// <param name="logger">Where to log.</param>
/// <param name="lifetime">Cancelled when the connection closes.</param>
/// <param name="target">What is reconnected.</param>
internal sealed class ReconnectSupervisor(
    MqttReconnectOptions policy,
    string address,
    ILogger logger,
    CancellationToken lifetime,
    IReconnectTarget target)
{
    private static readonly TimeSpan StableConnection = TimeSpan.FromSeconds(30);

    private Task _loop = Task.CompletedTask;
    private long _connectedAt;
    private int _shortConnections;
    private int _attempts;
    private int _reconnects;

    /// <summary>Reconnect attempts made so far.</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    /// <summary>Successful reconnects so far.</summary>
    public int Reconnects => Volatile.Read(ref _reconnects);

    /// <summary>The running loop (completed when none runs).</summary>
    public Task Loop => _loop;

    public void OnConnected() => Volatile.Write(ref _connectedAt, Environment.TickCount64);

    /// <summary>The link was lost: starts reconnecting when the policy allows it.</summary>
    public void OnLost(bool afterTakeOver)
    {
        var lived = TimeSpan.FromMilliseconds(Environment.TickCount64 - Volatile.Read(ref _connectedAt));
        _shortConnections = lived < StableConnection ? _shortConnections + 1 : 0;
        if (policy.Enabled)
        {
            var previousAttempts = Math.Max(_shortConnections - 1, 0);
            _loop = Task.Run(() => LoopAsync(afterTakeOver, previousAttempts));
        }
    }

    private async Task LoopAsync(bool afterTakeOver, int previousAttempts)
    {
        var attempt = previousAttempts;
        while (!lifetime.IsCancellationRequested)
        {
            attempt++;
            var delay = afterTakeOver ? policy.SessionTakenOverDelay : policy.DelayFor(attempt);
            if (delay == Timeout.InfiniteTimeSpan)
            {
                Log.ReconnectStopped(logger, address);
                return;
            }

            try
            {
                await Task.Delay(delay, lifetime).ConfigureAwait(false);
                Interlocked.Increment(ref _attempts);
                await target.ConnectOnceAsync(lifetime).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Once the connection is closing, how the in-flight attempt failed no longer matters.
            catch (Exception) when (lifetime.IsCancellationRequested)
#pragma warning restore CA1031
            {
                return;
            }
            catch (MqttConnectException e)
            {
                target.ReconnectAttemptFailed(attempt - previousAttempts, e);
                afterTakeOver = false;
                continue;
            }

            Interlocked.Increment(ref _reconnects);
            Diagnostics.MqttTelemetry.Reconnects.Add(1);
            await target.ReconnectedAsync(lifetime).ConfigureAwait(false);
            return;
        }
    }
}
