using System.Collections.Concurrent;
using System.Diagnostics;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Delivery;

/// <summary>
/// A broker that never acknowledges a QoS 1 publish (it lost the flow) must not hold the publish forever: past the
/// acknowledgement deadline, max(connect timeout, 1.5 x keep alive), the watchdog ends the link and the message is
/// resent on the next one, where it completes.
/// </summary>
public sealed class AcknowledgementDeadlineTests
{
    [Fact]
    public async Task A_publish_whose_acknowledgement_never_comes_is_resent_on_a_new_link_after_the_deadline()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var proxy = new TcpProxy(broker.Port);
        var options = MqttConnectionOptionsBuilder.FromAddress($"{proxy.Address}?clientId=ack-{Guid.NewGuid().ToString("N")[..12]}")
            .WithKeepAlive(TimeSpan.FromSeconds(1))
            .WithConnectTimeout(TimeSpan.FromSeconds(1))
            .Configure(o => o with { Reconnect = new MqttReconnectOptions { MinDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromMilliseconds(200) } })
            .Build();
        await using var connection = await MqttConnection.ConnectAsync(options);
        var clock = Stopwatch.StartNew();
        var changes = new ConcurrentQueue<(TimeSpan At, MqttConnectionState State, string Reason)>();
        connection.StateChanged += (_, e) => changes.Enqueue((clock.Elapsed, e.Current, e.Reason));

        proxy.WithholdAcknowledgements();
        var sentAt = clock.Elapsed;
        var publish = connection.PublishAsync("deadline/x", "1"u8.ToArray(), MqttQos.AtLeastOnce);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!changes.Any(c => c.State == MqttConnectionState.Disconnected) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.False(publish.IsCompleted, "the publish completed although its acknowledgement was withheld");
        var dropped = Assert.Single(changes, c => c.State == MqttConnectionState.Disconnected);
        Assert.Contains("not acknowledged", dropped.Reason, StringComparison.Ordinal);
        var waited = dropped.At - sentAt;
        // The deadline is 1.5 s, kept in Environment.TickCount64 milliseconds (whole steps): allow 20 ms below it.
        Assert.InRange(waited, TimeSpan.FromSeconds(1.48), TimeSpan.FromSeconds(4));

        // The next link acknowledges normally: the message is sent again and its task completes.
        await proxy.ReleaseAcknowledgementsAsync();
        await publish.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, connection.Statistics.Resent);
        Assert.Equal(1, connection.Statistics.Reconnects);
    }
}
