using System.Diagnostics;
using System.Text;
using TypedMqtt.Tests.Infrastructure;
using Xunit.Abstractions;
using static TypedMqtt.Tests.Reliability.ReliabilityKit;

namespace TypedMqtt.Tests.Reliability;

/// <summary>
/// R9: a process accepts 1,000 QoS 1 publishes into its durable outbox while the broker is unreachable and is then
/// killed. Started again with the same outbox file and a reachable broker, it delivers all 1,000.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class R9DurableOutboxTests(ITestOutputHelper output)
{
    private const int Messages = 1_000;

    [MosquittoFact]
    public async Task R9_messages_in_the_durable_outbox_survive_a_killed_process()
    {
        var total = Stopwatch.StartNew();
        await using var broker = await MosquittoBroker.StartAsync(PersistentBroker());
        var counts = new int[Messages];
        await using var subscriber = await ConnectAsync(broker.TcpAddress, NewClientId("r9-sub"), persistentSession: false);
        await using var subscription = await CountIntoAsync(subscriber, "r9/seq", MqttQos.AtLeastOnce, counts);
        var outboxPath = Path.Combine(broker.Directory, "worker.outbox");
        var clientId = NewClientId("r9-worker");

        // First life: connected through a proxy, which then disappears; the publishes are accepted offline; killed.
        var proxy = new TcpProxy(broker.TcpPort);
        using var first = OutboxWorker.Start("queue", proxy.Address, clientId, outboxPath, "r9/seq", Messages.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await first.ExpectAsync("connected");
        await proxy.DisposeAsync(); // connections reset, and nothing listens there any more
        await first.SendLineAsync("go");
        var offline = await first.ExpectAsync("offline");
        var queued = await first.ExpectAsync("queued");
        first.Kill();
        var receivedBeforeRestart = counts.Count(c => c > 0);

        // What the killed process left behind (opening the outbox also compacts it, as the next process would).
        int pendingAfterKill;
        using (var inspect = new MqttFileOutbox(outboxPath))
        {
            pendingAfterKill = inspect.Pending().Count;
        }

        // Second life: same outbox, broker reachable.
        var restart = Stopwatch.StartNew();
        using var second = OutboxWorker.Start("deliver", broker.TcpAddress, clientId, outboxPath);
        var pendingAtStart = await second.ExpectAsync("pending");
        var delivered = await second.ExpectAsync("delivered", "still pending");
        var exitCode = await second.WaitForExitAsync();
        var wait = Stopwatch.StartNew();
        while (counts.Count(c => c > 0) < Messages && wait.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        var received = counts.Count(c => c > 0);
        Print(output, "R9",
            ("first process", $"{offline}; {queued}"), ("received before the restart", receivedBeforeRestart), ("pending in the outbox after kill", pendingAfterKill),
            ("second process", $"{pendingAtStart}; {delivered}; exit {exitCode}"), ("received distinct", received),
            ("duplicates", counts.Sum(c => Math.Max(c - 1, 0))), ("restart -> all received", Ms(restart.Elapsed)), ("total", Ms(total.Elapsed)));

        Assert.Equal(0, receivedBeforeRestart);
        Assert.Equal(Messages, pendingAfterKill);
        Assert.Equal(0, exitCode);
        Assert.Equal(Messages, received);
    }
}
