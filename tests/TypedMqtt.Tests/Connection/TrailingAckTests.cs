using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Connection;

/// <summary>
/// A broker with Nagle's algorithm on (Mosquitto's default) holds its next small packet until the last one is
/// acknowledged, and a connection that has nothing to send back owes that ACK; Linux delays it (up to 40 ms) while the
/// connection is in its interactive mode, which sending soon after receiving turns on. The client acknowledges once
/// reads pause for about a millisecond (<c>Wire.TrailingAck</c>), so the held packet follows within milliseconds.
/// The peer here is a scripted broker whose socket has Nagle on, as Mosquitto's; <see cref="MosquittoTrailingAckTests"/>
/// shows the same through Mosquitto.
/// </summary>
public sealed class TrailingAckTests
{
    [LinuxTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_packet_the_broker_holds_for_our_ack_follows_within_milliseconds(bool readingThread)
    {
        var gaps = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            gaps.Add(await GapBetweenTwoPacketsAsync(readingThread));
        }

        gaps.Sort();
        // Without the trailing ACK the gaps were 31-48 ms (the kernel's delayed ACK); with it, 2-5 ms.
        Assert.True(gaps[2] < 20, $"the held packet came {string.Join(", ", gaps.Select(g => g.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)))} ms after the first");
    }

    /// <summary>
    /// The watch's timer is made on the first read, which may run on the thread that connects (a reading thread of
    /// its own and an IP address: the whole connect is synchronous); a caller that suppressed the execution context's
    /// flow there must not make it fail (<see cref="ExecutionContext.SuppressFlow"/> throws when it is suppressed already).
    /// </summary>
    [Fact]
    public void A_watch_timer_is_made_where_the_execution_context_does_not_flow()
    {
        var fired = new ManualResetEventSlim();
        var local = new AsyncLocal<string?> { Value = "the caller's" };
        string? seen = "not run";
        Timer timer;
        using (ExecutionContext.SuppressFlow())
        {
            timer = Diagnostics.DetachedTimer.Create(_ => { seen = local.Value; fired.Set(); }, TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }

        using (timer)
        {
            Assert.True(fired.Wait(TimeSpan.FromSeconds(10)));
        }

        Assert.Null(seen);
        using var flowing = Diagnostics.DetachedTimer.Create(_ => { seen = local.Value; fired.Set(); }, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        fired.Reset();
        flowing.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        Assert.True(fired.Wait(TimeSpan.FromSeconds(10)));
        Assert.Null(seen); // nor is the caller's context carried where it flows
    }

    /// <summary>
    /// The broker sends one PUBLISH and, at once, a second that its Nagle holds until the client acknowledges the
    /// first; returns how long after the first the second reached the handler.
    /// </summary>
    private static async Task<double> GapBetweenTwoPacketsAsync(bool readingThread)
    {
        await using var broker = new ScriptedBroker(async s =>
        {
            await s.ConnackAsync();
            await s.WaitForAsync(8); // SUBSCRIBE, answered by the session's reader
            for (var i = 0; i < 3; i++)
            {
                await s.WaitForAsync(3); // the client's "ready" publishes: the last one carried the ACK of all before it
            }

            await s.SendAsync(Publish("held/a"));
            await s.SendAsync(Publish("held/b")); // held by Nagle: "a" is not acknowledged yet
        });

        var arrivals = new ConcurrentDictionary<string, long>();
        var both = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var connection = await MqttConnection.ConnectAsync($"mqtt://127.0.0.1:{broker.Port}?clientId=held&readingThread={(readingThread ? "true" : "false")}");
        await connection.SubscribeAsync("held/#", (_, context, _) =>
        {
            arrivals[context.Topic] = Stopwatch.GetTimestamp();
            if (arrivals.Count == 2)
            {
                both.TrySetResult();
            }

            return Task.CompletedTask;
        });

        // Sending soon after receiving (the SUBACK) puts the connection in the kernel's interactive mode, where it delays ACKs.
        for (var i = 0; i < 3; i++)
        {
            await connection.PublishAsync("ready", "r"u8.ToArray(), MqttQos.AtMostOnce);
            await Task.Delay(2);
        }

        await both.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Null(broker.ScriptError);
        return Stopwatch.GetElapsedTime(arrivals["held/a"], arrivals["held/b"]).TotalMilliseconds;
    }

    /// <summary>A QoS 0 PUBLISH (MQTT 5: an empty property length) with a one-byte payload.</summary>
    private static byte[] Publish(string topic)
    {
        var name = Encoding.UTF8.GetBytes(topic);
        return [0x30, (byte)(2 + name.Length + 1 + 1), 0, (byte)name.Length, .. name, 0, (byte)'x'];
    }
}

/// <summary>
/// Through Mosquitto with its default <c>set_tcp_nodelay false</c>: at the end of a QoS 0 burst the broker's last
/// packets wait for the subscriber's ACK, which it owes since it sends nothing back.
/// </summary>
[Collection(MosquittoCollection.Name)]
public sealed class MosquittoTrailingAckTests(MosquittoFixture fixture)
{
    [MosquittoFact(LinuxOnly = true)]
    public async Task The_end_of_a_QoS_0_burst_is_not_held_for_a_delayed_ack()
    {
        var longest = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            longest.Add(await LongestGapInABurstAsync());
        }

        longest.Sort();
        // Without the trailing ACK the median burst's longest gap was 38-40 ms (the delayed ACK before its last packets; the
        // kernel's timer, so never much less); with it, 8 ms, and 28 ms with two busy loops taking both cores.
        Assert.True(longest[2] < 33, $"the longest gap between two messages of a burst: {string.Join(", ", longest.Select(g => g.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)))} ms");
    }

    private async Task<double> LongestGapInABurstAsync()
    {
        const int Count = 3_000;
        var topic = "tack" + Guid.NewGuid().ToString("N")[..8] + "/x";
        var arrivals = new long[Count];
        var received = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscriber = await MqttConnection.ConnectAsync(fixture.Broker.TcpAddress);
        await using var publisher = await MqttConnection.ConnectAsync(fixture.Broker.TcpAddress);
        await using var subscription = await subscriber.SubscribeAsync(topic, (_, _, _) =>
        {
            var index = Interlocked.Increment(ref received) - 1;
            arrivals[index] = Stopwatch.GetTimestamp();
            if (index == Count - 1)
            {
                all.TrySetResult();
            }

            return Task.CompletedTask;
        });

        var payload = new byte[100];
        for (var i = 0; i < Count; i++)
        {
            await publisher.PublishAsync(topic, payload, MqttQos.AtMostOnce);
        }

        await all.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var longest = 0.0;
        for (var i = 1; i < Count; i++)
        {
            longest = Math.Max(longest, Stopwatch.GetElapsedTime(arrivals[i - 1], arrivals[i]).TotalMilliseconds);
        }

        return longest;
    }
}

/// <summary>A theory about Linux's TCP (<c>TCP_QUICKACK</c>): skipped elsewhere, where the client has no trailing ACK.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class LinuxTheoryAttribute : TheoryAttribute
{
    public LinuxTheoryAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "Linux only: the trailing ACK uses TCP_QUICKACK.";
        }
    }
}
