using System.Diagnostics;
using TypedMqtt.Tests.Infrastructure;
using Xunit.Abstractions;
using static TypedMqtt.Tests.Reliability.ReliabilityKit;

namespace TypedMqtt.Tests.Reliability;

/// <summary>
/// R12: a persistent session the application asked for is never downgraded. A subscriber whose QoS 2 flow is cut in the
/// middle stays away for a while; everything published meanwhile waits in its session on Mosquitto and arrives after the
/// reconnect (which resumes the session), exactly once.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class R12PersistentSessionTests(ITestOutputHelper output)
{
    [MosquittoFact]
    public async Task R12_a_subscriber_whose_QoS2_flow_was_cut_receives_every_message_published_while_it_was_away()
    {
        const int before = 200;
        const int away = 300;
        await using var broker = await MosquittoBroker.StartAsync(PersistentBroker());
        await using var proxy = new TcpProxy(broker.TcpPort);
        var counts = new int[before + away];
        // Jitter 0: the first retry waits the full 2 s (with jitter it may come at once), so the subscriber is away while 300 go out.
        var slowReconnect = new MqttReconnectOptions { MinDelay = TimeSpan.FromSeconds(2), MaxDelay = TimeSpan.FromSeconds(2), Jitter = 0 };
        await using var subscriber = await ConnectAsync(proxy.Address, NewClientId("r12-sub"), persistentSession: true, configure: o => o with { Reconnect = slowReconnect });
        var states = new List<string>();
        subscriber.StateChanged += (_, e) =>
        {
            lock (states)
            {
                states.Add($"{e.Current}: {e.Reason}");
            }
        };
        await using var subscription = await CountIntoAsync(subscriber, "r12/seq", MqttQos.ExactlyOnce, counts);
        await using var publisher = await ConnectAsync(broker.TcpAddress, NewClientId("r12-pub"), persistentSession: true);

        // Cut the subscriber while QoS 2 flows toward it are open.
        proxy.CutAfterPackets(ProxyDirection.ServerToClient, 25);
        await Task.WhenAll(Enumerable.Range(0, before).Select(i => publisher.PublishAsync("r12/seq", Sequence(i), MqttQos.ExactlyOnce)));
        var wait = Stopwatch.StartNew();
        while (subscriber.IsConnected && wait.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(5);
        }

        Assert.False(subscriber.IsConnected, "the cut did not take the subscriber down");

        // Published while the subscriber is away: only its session on the broker can keep these.
        await Task.WhenAll(Enumerable.Range(before, away).Select(i => publisher.PublishAsync("r12/seq", Sequence(i), MqttQos.ExactlyOnce)));
        var awayWhilePublishing = !subscriber.IsConnected;

        var deadline = Stopwatch.StartNew();
        while (counts.Any(c => c == 0) && deadline.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(20);
        }

        await Task.Delay(300);
        var missing = counts.Count(c => c == 0);
        var duplicates = counts.Sum(c => Math.Max(c - 1, 0));
        Print(output, "R12", ("published before the cut", before), ("published while away", away), ("away while publishing", awayWhilePublishing),
            ("missing", missing), ("duplicates", duplicates), ("session present after reconnect", subscriber.ConnectResult.IsSessionPresent));
        lock (states)
        {
            output.WriteLine(string.Join("\n", states));
        }

        Assert.True(awayWhilePublishing, "the subscriber was back before the publisher finished, so the test proved nothing");
        Assert.True(subscriber.ConnectResult.IsSessionPresent, "the subscriber reconnected without its session");
        Assert.Equal(0, missing);
        Assert.Equal(0, duplicates);
    }
}
