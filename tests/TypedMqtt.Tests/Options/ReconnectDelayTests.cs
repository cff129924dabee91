namespace TypedMqtt.Tests.Options;

/// <summary>
/// The reconnect schedule: the first retry after a drop is spread over zero to MinDelay × (1 + Jitter), so a fleet
/// that loses its broker at once comes back spread out (the benchmark's reconnect storm measures the effect on 10,000
/// connections); later retries never come sooner than the backoff.
/// </summary>
public sealed class ReconnectDelayTests
{
    private static readonly MqttReconnectOptions Policy = new() { MinDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(120), Jitter = 0.25 };

    [Fact]
    public void The_first_retry_is_spread_over_the_whole_first_delay()
    {
        var delays = Enumerable.Range(0, 10_000).Select(_ => Policy.DelayFor(1).TotalMilliseconds).ToArray();

        Assert.All(delays, d => Assert.InRange(d, 0, 1250));
        // Uniform over 1,250 ms: each 125 ms tenth holds about 1,000 of 10,000; the old schedule put all in the last two.
        var tenths = delays.GroupBy(d => Math.Min((int)(d / 125), 9)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(10, tenths.Count);
        Assert.All(tenths.Values, count => Assert.InRange(count, 800, 1200));
    }

    [Theory]
    [InlineData(2, 2_000)]
    [InlineData(3, 4_000)]
    [InlineData(8, 120_000)]
    [InlineData(40, 120_000)]
    public void Later_retries_wait_the_backoff_plus_up_to_the_jitter(int attempt, double dueMs)
    {
        var delays = Enumerable.Range(0, 1_000).Select(_ => Policy.DelayFor(attempt).TotalMilliseconds).ToArray();

        Assert.All(delays, d => Assert.InRange(d, dueMs, dueMs * 1.25));
        Assert.True(delays.Max() - delays.Min() > dueMs * 0.2, $"the delays of attempt {attempt} are not spread: {delays.Min()} to {delays.Max()} ms");
    }

    [Fact]
    public void Jitter_zero_is_deterministic()
    {
        var policy = Policy with { Jitter = 0 };

        Assert.Equal(TimeSpan.FromSeconds(1), policy.DelayFor(1));
        Assert.Equal(TimeSpan.FromSeconds(2), policy.DelayFor(2));
        Assert.Equal(TimeSpan.FromSeconds(120), policy.DelayFor(30));
    }
}
