using System.Diagnostics;

namespace TypedMqtt.Benchmarks;

/// <summary>
/// Warm-up until the code is in its steady state, measured in time rather than in messages: .NET compiles a method
/// again, optimised, only after it was called often enough and after a pause with no new method being compiled, on a
/// background thread; here, on 2 busy cores, the typed QoS 0 client spent 23-34 us of CPU per message in its first four
/// runs of 40,000 messages (about 4 s) and 7-9 us from the fifth on, with the broker waiting 23-46 % of the time for
/// a CPU before and 1-5 % after. A warm-up of 8,000 messages (0.2 s) measured the first state as if it were the second;
/// after 4 s of warm-up with runs of 8,000 the first measured run of 40,000 still took 19-22 us, after 4 s of full-size
/// runs 6-15 us. So each variant warms up on the scenario itself, for at least <see cref="Minimum"/>.
/// </summary>
internal static class WarmUp
{
    /// <summary>How long each .NET variant runs before it is measured.</summary>
    public static readonly TimeSpan Minimum = TimeSpan.FromSeconds(4);

    /// <summary>Runs <paramref name="run"/> once, then again until <paramref name="minimum"/> has passed.</summary>
    public static async Task ForAsync(TimeSpan minimum, Func<Task> run)
    {
        var started = Stopwatch.GetTimestamp();
        do
        {
            await run().ConfigureAwait(false);
        }
        while (Stopwatch.GetElapsedTime(started) < minimum);
    }
}
