using System.Diagnostics;
using System.Globalization;
using TypedMqtt.Tests.Infrastructure;
using Xunit.Abstractions;
using static TypedMqtt.Tests.Reliability.ReliabilityKit;

namespace TypedMqtt.Tests.Reliability;

/// <summary>
/// R13: a publishing process with a durable outbox and a persistent session is killed with SIGKILL three times in the
/// middle of a QoS 2 stream. Each new process opens the same outbox, resumes the flows the killed one had written (with
/// their packet identifiers and phases) and publishes a range of its own. Every message a process accepted arrives
/// exactly once; nothing it never accepted arrives.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class R13KilledPublisherTests(ITestOutputHelper output)
{
    private const int PerLife = 2_000;
    private const int Lives = 4;

    [MosquittoFact]
    public async Task R13_a_QoS2_publisher_killed_3_times_with_its_outbox_delivers_every_accepted_message_exactly_once()
    {
        var total = Stopwatch.StartNew();
        await using var broker = await MosquittoBroker.StartAsync(PersistentBroker());
        var counts = new int[PerLife * Lives];
        await using var subscriber = await ConnectAsync(broker.TcpAddress, NewClientId("r13-sub"), persistentSession: true);
        await using var subscription = await CountIntoAsync(subscriber, "r13/seq", MqttQos.ExactlyOnce, counts);
        var outboxPath = Path.Combine(broker.Directory, "r13.outbox");
        var clientId = NewClientId("r13-pub");
        var lastAccepted = new int[Lives];
        var starts = new string[Lives];
        var random = new Random(13);

        for (var life = 0; life < Lives; life++)
        {
            var start = life * PerLife;
            using var worker = OutboxWorker.Start("stream", broker.TcpAddress, clientId, outboxPath, "r13/seq",
                start.ToString(CultureInfo.InvariantCulture), PerLife.ToString(CultureInfo.InvariantCulture));
            starts[life] = await worker.ExpectAsync("connected");
            if (life < Lives - 1)
            {
                // Killed somewhere in the middle of its range, with flows in every phase.
                var killAt = start + 300 + (25 * random.Next(0, 40));
                string line;
                do
                {
                    line = await worker.ExpectAsync("accepted");
                }
                while (int.Parse(line["accepted ".Length..], CultureInfo.InvariantCulture) < killAt);

                worker.Kill();
                lastAccepted[life] = int.Parse(line["accepted ".Length..], CultureInfo.InvariantCulture);
            }
            else
            {
                var end = await worker.ExpectAsync("done", "still pending");
                Assert.True(end == "done", end);
                Assert.Equal(0, await worker.WaitForExitAsync());
                lastAccepted[life] = start + PerLife - 1;
            }
        }

        // Every life's messages form a prefix of its range that reaches at least its last accepted message.
        var wait = Stopwatch.StartNew();
        bool Complete() => Enumerable.Range(0, Lives).All(l => Enumerable.Range(l * PerLife, lastAccepted[l] - (l * PerLife) + 1).All(i => counts[i] > 0));
        while (!Complete() && wait.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(50);
        }

        await Task.Delay(500);
        var lost = Enumerable.Range(0, Lives).Sum(l => Enumerable.Range(l * PerLife, lastAccepted[l] - (l * PerLife) + 1).Count(i => counts[i] == 0));
        var gaps = Enumerable.Range(0, Lives).Sum(l =>
        {
            var arrived = Enumerable.Range(l * PerLife, PerLife).Where(i => counts[i] > 0).ToList();
            return arrived.Count == 0 ? 0 : arrived.Max() - arrived.Min() + 1 - arrived.Count;
        });
        var duplicates = counts.Sum(c => Math.Max(c - 1, 0));
        Print(output, "R13",
            ("lives", Lives), ("SIGKILLs", Lives - 1), ("last accepted per life", string.Join(", ", lastAccepted)), ("starts", string.Join(" | ", starts)),
            ("received distinct", counts.Count(c => c > 0)), ("lost", lost), ("gaps", gaps), ("duplicates", duplicates), ("total", Ms(total.Elapsed)));

        Assert.All(starts.Skip(1), s => Assert.StartsWith("connected True", s, StringComparison.Ordinal));
        Assert.Equal(0, lost);
        Assert.Equal(0, gaps);
        Assert.Equal(0, duplicates);
    }
}
