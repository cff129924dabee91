namespace TypedMqtt;

/// <summary>
/// How a connection heals itself after it drops: exponential backoff with jitter, never two attempts at once.
/// After a session take-over (another client with our id) it waits <see cref="SessionTakenOverDelay"/> before
/// trying again, so two clients with one id do not kick each other in a loop.
/// </summary>
public sealed record MqttReconnectOptions
{
    /// <summary>Reconnect on: first retry within 1.25 s of a drop, then 2 s doubling to 120 s, 25 % jitter.</summary>
    public static MqttReconnectOptions Default { get; } = new();

    /// <summary>No automatic reconnect.</summary>
    public static MqttReconnectOptions Disabled { get; } = new() { Enabled = false };

    /// <summary>Whether the connection reconnects by itself. Default true.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Delay before the first retry. Default 1 s.</summary>
    public TimeSpan MinDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between retries. Default 120 s.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>
    /// Random spread of the delays (0 to 1). Default 0.25. The first retry after a drop waits a uniformly random time
    /// between zero and <see cref="MinDelay"/> × (1 + Jitter), so a fleet that loses its broker at once does not come
    /// back at once; each later retry waits its backoff plus up to Jitter of it. 0 turns all randomness off.
    /// </summary>
    public double Jitter { get; init; } = 0.25;

    /// <summary>
    /// Wait after the session was taken over before trying again; <see cref="Timeout.InfiniteTimeSpan"/> stops
    /// reconnecting instead. Default 60 s (at most one take-back attempt a minute).
    /// </summary>
    public TimeSpan SessionTakenOverDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The delay before attempt number <paramref name="attempt"/> (1-based), jitter included: for attempt 1 anywhere
    /// from zero to <see cref="MinDelay"/> × (1 + <see cref="Jitter"/>) (full jitter), after that the backoff plus up to
    /// <see cref="Jitter"/> of it.
    /// </summary>
    /// <param name="attempt">The attempt number.</param>
    /// <returns>The delay.</returns>
    public TimeSpan DelayFor(int attempt)
    {
        var spread = Math.Clamp(Jitter, 0, 1);
        var exponent = Math.Min(Math.Max(attempt - 1, 0), 30);
        var baseMs = Math.Min(MinDelay.TotalMilliseconds * Math.Pow(2, exponent), MaxDelay.TotalMilliseconds);
        if (spread == 0)
        {
            return TimeSpan.FromMilliseconds(baseMs);
        }

#pragma warning disable CA5394 // Jitter needs no cryptographic randomness.
        var random = Random.Shared.NextDouble();
#pragma warning restore CA5394
        if (exponent == 0)
        {
            // Full jitter on the first retry: every client of a fleet sees a broker restart at the same instant.
            return TimeSpan.FromMilliseconds(baseMs * (1 + spread) * random);
        }

        return TimeSpan.FromMilliseconds(Math.Min(baseMs * (1 + (spread * random)), MaxDelay.TotalMilliseconds * (1 + spread)));
    }
}
