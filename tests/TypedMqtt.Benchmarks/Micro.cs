using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using Perfolizer.Horology;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using static TypedMqtt.Benchmarks.Report;

namespace TypedMqtt.Benchmarks;

/// <summary>
/// Runs the BenchmarkDotNet micro-benchmarks (in-process toolchain: no second build, so the whole suite fits in a few
/// minutes; MemoryDiagnoser on) and turns their medians into the report's tables and targets. BenchmarkDotNet's own
/// log and reports go to artifacts/benchmarks/bdn.
/// </summary>
internal static class Micro
{
    public static void Run(Report report, bool quick)
    {
        var artifacts = Path.Combine(Environment.CurrentDirectory, "artifacts", "benchmarks", "bdn");
        Directory.CreateDirectory(artifacts);
        var job = Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(quick ? 1 : 6)
            .WithIterationCount(quick ? 3 : 12)
            .WithIterationTime(TimeInterval.FromMilliseconds(quick ? 20 : 120));
        var log = Path.Combine(artifacts, "benchmarkdotnet.log");
        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(new StreamLogger(log))
            .WithArtifactsPath(artifacts)
            .WithOptions(ConfigOptions.DisableLogFile);

        var all = new List<BenchmarkReport>();
        foreach (var type in new[] { typeof(PublishPath), typeof(ReceivePieces), typeof(ReceivePath) })
        {
            Console.WriteLine($"[micro] {type.Name} (BenchmarkDotNet log: {log})");
            var summary = BenchmarkRunner.Run(type, config);
            all.AddRange(summary.Reports);
            foreach (var failed in summary.Reports.Where(r => r.ResultStatistics is null))
            {
                report.Note($"micro: {failed.BenchmarkCase.DisplayInfo} produced no result (see {log}).");
            }
        }

        var results = all.Where(r => r.ResultStatistics is not null).ToDictionary(Key, r => (Ns: r.ResultStatistics!.Median, Bytes: (double)(r.GcStats.GetBytesAllocatedPerOperation(r.BenchmarkCase) ?? 0)));
        var descriptions = all.ToDictionary(Key, r => r.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo.Trim('\''));

        var publish = report.Table("Publish path micro (BenchmarkDotNet median; typed: up to the link's write into a silent channel adapter; raw: up to MQTTnet's PublishAsync on a fake client)", "benchmark", "ns/op", "B/op", "typed/raw time", "typed/raw bytes");
        AddPairs(publish, results, descriptions, [
            ("Raw_Qos0_Call", "Typed_Qos0_Call"), ("Raw_Qos1_Call", "Typed_Qos1_Call"), ("Raw_Topic", "Typed_Topic"),
            ("Raw_Serialize", "Typed_Serialize"), ("Raw_Message", null), (null, "Typed_PendingPublish"), (null, "Typed_Qos0_Call_Traced")]);

        var pieces = report.Table("Receive path pieces (BenchmarkDotNet median)", "benchmark", "ns/op", "B/op", "typed/raw time", "typed/raw bytes");
        AddPairs(pieces, results, descriptions, [("Raw_Decode", "Typed_Decode"), (null, "Typed_TopicCheck"), (null, "Typed_CreateContext")]);

        var receive = report.Table("Receive path by active subscriptions (BenchmarkDotNet median; one filter matches)", "benchmark", "ns/op @1", "ns/op @100", "ns/op @10,000", "@10,000 / @1", "B/op @1", "B/op @10,000");
        foreach (var method in new[] { "Typed_Dispatch", "Linear_Dispatch", "Typed_Receive", "Raw_Receive", "Linear_Receive" })
        {
            if (!results.TryGetValue($"{method}@1", out var one) || !results.TryGetValue($"{method}@10000", out var many))
            {
                continue;
            }

            var hundred = results.TryGetValue($"{method}@100", out var h) ? F(h.Ns, "N1") : "-";
            receive.Add([descriptions[$"{method}@1"], F(one.Ns, "N1"), hundred, F(many.Ns, "N1"), F(many.Ns / one.Ns, "0.00") + " x", F(one.Bytes), F(many.Bytes)]);
        }

        // The dispatch-scaling targets come from DispatchScaling, which measures the three sizes interleaved.
    }

    private static string Key(BenchmarkReport r)
    {
        var name = r.BenchmarkCase.Descriptor.WorkloadMethod.Name;
        var subscriptions = r.BenchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == nameof(ReceivePath.Subscriptions))?.Value;
        return subscriptions is null ? name : $"{name}@{subscriptions}";
    }

    private static void AddPairs(List<string[]> table, Dictionary<string, (double Ns, double Bytes)> results, Dictionary<string, string> descriptions, (string? Raw, string? Typed)[] pairs)
    {
        foreach (var (raw, typed) in pairs)
        {
            if (typed is null)
            {
                if (raw is not null && results.TryGetValue(raw, out var alone))
                {
                    table.Add([descriptions[raw], F(alone.Ns, "N1"), F(alone.Bytes), string.Empty, string.Empty]);
                }

                continue;
            }

            if (!results.TryGetValue(typed, out var t))
            {
                continue;
            }

            if (raw is not null && results.TryGetValue(raw, out var r))
            {
                table.Add([descriptions[raw], F(r.Ns, "N1"), F(r.Bytes), string.Empty, string.Empty]);
                table.Add([descriptions[typed], F(t.Ns, "N1"), F(t.Bytes), F(t.Ns / r.Ns, "0.00") + " x", r.Bytes == 0 ? "-" : F(t.Bytes / r.Bytes, "0.00") + " x"]);
            }
            else
            {
                table.Add([descriptions[typed], F(t.Ns, "N1"), F(t.Bytes), string.Empty, string.Empty]);
            }
        }
    }
}
