using System.Diagnostics;
using TypedMqtt.Tests.Infrastructure;
using Xunit.Abstractions;
using static TypedMqtt.Tests.Reliability.ReliabilityKit;

namespace TypedMqtt.Tests.Reliability;

/// <summary>
/// R4: a half-open connection (the route goes silent, or the broker freezes) is noticed within 2 x keep alive, whether
/// the client is idle or busy publishing QoS 0 (which MQTTnet alone never notices: a write into a half-open socket
/// succeeds). Measured from the fault to the StateChanged Disconnected event.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class R4DeadConnectionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(4);

    [MosquittoTheory]
    [InlineData("proxy blackhole", false)]
    [InlineData("proxy blackhole", true)]
    [InlineData("broker SIGSTOP", false)]
    [InlineData("broker SIGSTOP", true)]
    public async Task R4_half_open_connection_is_detected_within_2_keep_alives(string fault, bool publishing)
    {
        var total = Stopwatch.StartNew();
        await using var broker = await MosquittoBroker.StartAsync(PersistentBroker());
        await using var proxy = new TcpProxy(broker.TcpPort);
        var viaProxy = fault.StartsWith("proxy", StringComparison.Ordinal);
        await using var connection = await ConnectAsync(viaProxy ? proxy.Address : broker.TcpAddress, NewClientId("r4"), persistentSession: false, KeepAlive);

        var clock = Stopwatch.StartNew();
        var disconnected = new TaskCompletionSource<(TimeSpan At, string Reason)>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.StateChanged += (_, e) =>
        {
            if (e.Current == MqttConnectionState.Disconnected)
            {
                disconnected.TrySetResult((clock.Elapsed, e.Reason));
            }
        };

        using var stop = new CancellationTokenSource();
        var published = 0;
        var publishFailures = 0;
        var loop = !publishing ? Task.CompletedTask : Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await connection.PublishAsync("r4/busy", Sequence(published), MqttQos.AtMostOnce);
                    published++;
                }
                catch (MqttOperationException)
                {
                    publishFailures++;
                }

                await Task.Delay(5);
            }
        });

        // Let the flow (or the idleness) settle over more than one keep-alive period first.
        await Task.Delay(KeepAlive + TimeSpan.FromMilliseconds(500));
        Assert.True(connection.IsConnected);
        var publishedBeforeFault = published;

        var injectedAt = clock.Elapsed;
        if (viaProxy)
        {
            proxy.Blackhole();
        }
        else
        {
            await broker.PauseAsync();
        }

        TimeSpan detection;
        string reason;
        try
        {
            var (at, why) = await disconnected.Task.WaitAsync(TimeSpan.FromSeconds(12));
            detection = at - injectedAt;
            reason = why;
        }
        catch (TimeoutException)
        {
            detection = clock.Elapsed - injectedAt;
            reason = "(not detected)";
        }
        finally
        {
            await stop.CancelAsync();
            await loop;
            if (!viaProxy)
            {
                await broker.ResumeAsync();
            }
        }

        Print(output, "R4",
            ("fault", fault), ("mode", publishing ? "publishing QoS 0" : "idle"), ("keep alive", Ms(KeepAlive)),
            ("fault -> Disconnected", Ms(detection)), ("limit", Ms(Limit)), ("QoS 0 published before the fault", publishedBeforeFault),
            ("QoS 0 published in total", published), ("publish failures", publishFailures), ("reason", reason), ("total", Ms(total.Elapsed)));

        Print(output, "R4", ("statistics", Stats(connection)));
        Assert.True(detection <= Limit, $"{fault} ({(publishing ? "publishing" : "idle")}) was detected after {Ms(detection)}; limit {Ms(Limit)}");

        // The watchdog itself ended the link (not a write failure or the broker): the reason names the keep alive.
        Assert.Contains("keep alive", reason, StringComparison.Ordinal);
        Assert.Equal(1, connection.Statistics.DeadConnectionsDetected);
        if (publishing)
        {
            Assert.True(publishedBeforeFault > 0, "the publish loop never ran");
        }
    }
    /// <summary>
    /// Disposal never hangs on a frozen peer: with the broker stopped (SIGSTOP) and the socket's send buffer full of
    /// unread publishes, DISCONNECT cannot be written; DisposeAsync gives up after the connect timeout and closes the socket.
    /// </summary>
    [MosquittoFact]
    public async Task Dispose_returns_within_the_connect_timeout_when_the_peer_is_frozen_and_the_send_buffer_is_full()
    {
        await using var broker = await MosquittoBroker.StartAsync(PersistentBroker());
        var connectTimeout = TimeSpan.FromSeconds(2);
        var connection = await ConnectAsync(broker.TcpAddress, NewClientId("r4-dispose"), persistentSession: false, TimeSpan.Zero,
            o => o with { ConnectTimeout = connectTimeout });
        await broker.PauseAsync();
        try
        {
            // Fill the socket's send buffer: QoS 0 writes complete until the kernel's buffers are full, then one waits.
            var payload = new byte[64 * 1024];
            Task stuck = Task.CompletedTask;
            for (var i = 0; i < 2_000 && stuck.IsCompleted; i++)
            {
                stuck = connection.PublishAsync("r4/fill", payload);
                await Task.WhenAny(stuck, Task.Delay(50));
            }

            Assert.False(stuck.IsCompleted, "the send buffer never filled, so this test proves nothing");

            var clock = Stopwatch.StartNew();
            await connection.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));
            output.WriteLine($"DisposeAsync took {Ms(clock.Elapsed)} (connect timeout {Ms(connectTimeout)})");
            Assert.True(clock.Elapsed < connectTimeout + TimeSpan.FromSeconds(3), $"DisposeAsync took {Ms(clock.Elapsed)}");
            await Assert.ThrowsAnyAsync<Exception>(() => stuck.WaitAsync(TimeSpan.FromSeconds(5)));
        }
        finally
        {
            await broker.ResumeAsync();
        }
    }
}
