namespace TypedMqtt;

/// <summary>
/// How a connection heals itself after it drops: exponential backoff with jitter, never two attempts at once.
/// After a session take-over (another client with our id) it waits <see cref="SessionTakenOverDelay"/> before
/// trying again, so two clients with one id do not kick each other in a loop.
/// </summary>
public sealed record MqttReconnectOptions
{
    /// <summary>Reconnect on, 1 s to 120 s backoff, 25 % jitter.</summary>
    public static MqttReconnectOptions Default { get; } = new();

    /// <summary>No automatic reconnect.</summary>
    public static MqttReconnectOptions Disabled { get; } = new() { Enabled = false };

    /// <summary>Whether the connection reconnects by itself. Default true.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Delay before the first retry. Default 1 s.</summary>
    public TimeSpan MinDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between retries. Default 120 s.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Random spread added to each delay, as a fraction of it (0 to 1). Default 0.25.</summary>
    public double Jitter { get; init; } = 0.25;

    /// <summary>
    /// Wait after the session was taken over before trying again; <see cref="Timeout.InfiniteTimeSpan"/> stops
    /// reconnecting instead. Default 60 s (at most one take-back attempt a minute).
    /// </summary>
    public TimeSpan SessionTakenOverDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The delay before attempt number <paramref name="attempt"/> (1-based), jitter included.</summary>
    /// <param name="attempt">The attempt number.</param>
    /// <returns>The delay.</returns>
    public TimeSpan DelayFor(int attempt)
    {
        var exponent = Math.Min(Math.Max(attempt - 1, 0), 30);
        var baseMs = Math.Min(MinDelay.TotalMilliseconds * Math.Pow(2, exponent), MaxDelay.TotalMilliseconds);
#pragma warning disable CA5394 // Jitter needs no cryptographic randomness.
        var jitter = baseMs * Math.Clamp(Jitter, 0, 1) * Random.Shared.NextDouble();
#pragma warning restore CA5394
        return TimeSpan.FromMilliseconds(Math.Min(baseMs + jitter, MaxDelay.TotalMilliseconds * (1 + Math.Clamp(Jitter, 0, 1))));
    }
}
