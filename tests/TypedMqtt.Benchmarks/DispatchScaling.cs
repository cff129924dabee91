using System.Diagnostics;
using MQTTnet;
using TypedMqtt.Dispatch;
using static TypedMqtt.Benchmarks.Report;

namespace TypedMqtt.Benchmarks;

/// <summary>
/// The dispatch-scaling target measured interleaved: BenchmarkDotNet runs the 1-, 100- and 10,000-subscription cases one
/// after the other, a minute apart, so on a shared machine their ratio carries whatever the neighbours did in between
/// (0.65-1.86 x across runs of the same code). Here the three registries (the real connection's, built as in
/// <see cref="ReceivePath"/>) and the linear scan take turns in short blocks, the order rotating every round, and the
/// target uses the median of the per-round ratios, the same rule as the end-to-end runs. The registry remembers each
/// topic's sinks, so the target's cases (one topic again and again) measure that lookup; two more cases cycle through
/// more distinct topics than it remembers, so every call walks the trie, for the record (not a target).
/// </summary>
internal static class DispatchScaling
{
    private const string Topic = "bench/dev-0001/reading";

    public static void Run(Report report, bool quick)
    {
        int[] sizes = [1, 100, 10_000];
        var registries = sizes.Select(Build).ToArray();
        string[] one = [Topic];
        var fresh = Enumerable.Range(0, 2 * SubscriptionRegistry.RememberedTopics).Select(i => $"bench/dev-{i:00000}/reading").ToArray();
        // The cases in turn: each registry on the one topic, then registries like the smallest and the largest on ever-new topics.
        // Baseline: the case each one's ratio is taken against. Next: where each case's walk through its topics goes on.
        (SubscriptionRegistry Registry, string[] Topics, string Name, int Baseline)[] cases =
        [
            .. registries.Select((r, i) => (r, one, $"trie, {sizes[i]:N0} subscription{(sizes[i] == 1 ? string.Empty : "s")}", 0)),
            (Build(sizes[0]), fresh, $"trie, 1 subscription, {fresh.Length:N0} topics in turn (never remembered)", 3),
            (Build(sizes[^1]), fresh, $"trie, {sizes[^1]:N0} subscriptions, {fresh.Length:N0} topics in turn (never remembered)", 3),
        ];
        var next = new int[cases.Length];
        var linear = ReceivePath.Filters(10_000).ToArray();
        var rounds = quick ? 15 : 201;
        const int Calls = 4_000;
        var perRound = new double[cases.Length + 1][];
        for (var i = 0; i < perRound.Length; i++)
        {
            perRound[i] = new double[rounds];
        }

        var scratch = new List<SubscriptionRegistry.FilterEntry>();
        var sinks = new List<MessageSink>();
        for (var warm = 0; warm < 3; warm++)
        {
            for (var i = 0; i < cases.Length; i++)
            {
                TimeTrie(cases[i].Registry, cases[i].Topics, ref next[i], Calls, scratch, sinks);
            }
        }

        for (var round = 0; round < rounds; round++)
        {
            for (var k = 0; k <= cases.Length; k++)
            {
                var which = (k + round) % (cases.Length + 1);
                perRound[which][round] = which < cases.Length
                    ? TimeTrie(cases[which].Registry, cases[which].Topics, ref next[which], Calls, scratch, sinks)
                    : TimeLinear(linear, Calls / 100);
            }
        }

        var table = report.Table($"Receive dispatch, interleaved ({rounds} rounds of {Calls:N0} calls per case, order rotated; median per round)", "case", "ns/op (median)", "ns/op (p10-p90)", "/ 1 subscription, same topics (median of per-round ratios)");
        for (var i = 0; i < cases.Length; i++)
        {
            var baseline = perRound[cases[i].Baseline];
            var ratios = perRound[i].Select((ns, r) => ns / baseline[r]);
            table.Add([cases[i].Name, F(Median(perRound[i]), "N1"), $"{F(Percentile(perRound[i], 0.1), "N1")}-{F(Percentile(perRound[i], 0.9), "N1")}", F(Median(ratios), "0.00") + " x"]);
        }

        table.Add(["linear MqttTopicFilterComparer scan, 10,000 filters", F(Median(perRound[^1]), "N0"), $"{F(Percentile(perRound[^1], 0.1), "N0")}-{F(Percentile(perRound[^1], 0.9), "N0")}", string.Empty]);

        var scaling = Median(perRound[2].Select((ns, r) => ns / perRound[0][r]));
        var speedup = Median(perRound[^1].Select((ns, r) => ns / perRound[2][r]));
        report.Target("Receive dispatch (trie) @10,000 subscriptions <= 1.5 x @1 (interleaved, median of per-round ratios)", $"{F(scaling, "0.00")} x ({F(Median(perRound[2]), "N1")} vs {F(Median(perRound[0]), "N1")} ns)", scaling <= 1.5);
        report.Target("Receive dispatch (trie) @10,000 >= 20 x faster than linear MqttTopicFilterComparer scan (interleaved)", $"{F(speedup, "N0")} x ({F(Median(perRound[^1]), "N0")} vs {F(Median(perRound[2]), "N1")} ns)", speedup >= 20);
    }

    private static SubscriptionRegistry Build(int subscriptions)
    {
        var rig = new ConnectionRig();
        foreach (var filter in ReceivePath.Filters(subscriptions))
        {
            _ = rig.Connection.SubscribeAsync<int>(filter, static (_, _) => 0, static (_, _, _) => Task.CompletedTask).GetAwaiter().GetResult();
        }

        if (rig.Registry.FilterCount != subscriptions)
        {
            throw new InvalidOperationException($"{rig.Registry.FilterCount} filters registered, expected {subscriptions}");
        }

        return rig.Registry;
    }

    private static double TimeTrie(SubscriptionRegistry registry, string[] topics, ref int next, int calls, List<SubscriptionRegistry.FilterEntry> scratch, List<MessageSink> sinks)
    {
        var matched = 0;
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < calls; i++)
        {
            sinks.Clear();
            registry.Collect(topics[next], scratch, sinks);
            next = next + 1 == topics.Length ? 0 : next + 1;
            matched += sinks.Count;
        }

        var elapsed = Stopwatch.GetElapsedTime(start);
        return matched == calls ? elapsed.TotalNanoseconds / calls : throw new InvalidOperationException($"{matched} matches in {calls} calls: the trie must find exactly one sink");
    }

    private static double TimeLinear(string[] filters, int calls)
    {
        var matched = 0;
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < calls; i++)
        {
            foreach (var filter in filters)
            {
                if (MqttTopicFilterComparer.Compare(Topic, filter) == MqttTopicFilterCompareResult.IsMatch)
                {
                    matched++;
                }
            }
        }

        var elapsed = Stopwatch.GetElapsedTime(start);
        return matched == calls ? elapsed.TotalNanoseconds / calls : throw new InvalidOperationException($"{matched} matches in {calls} scans: exactly one filter must match");
    }
}
