using System.Diagnostics;
using System.Text.Json;
using TypedMqtt.Benchmarks;

if (args.Contains(BrokerProcess.HostEmbeddedArgument))
{
    await BrokerProcess.HostEmbeddedAsync();
    return 0;
}

var quick = args.Contains("--quick");
var known = new[] { "e2e", "latency", "scale", "micro", "dispatch", "generator" };
// Words that are not an option or an option's value name sections.
var chosen = args.Where((a, i) => !a.StartsWith('-') && (i == 0 || args[i - 1] is not ("--broker" or "--runs" or "--cpu-run" or "--scenario" or "--latency-run" or "--storm-run"))).Select(a => a.ToLowerInvariant()).ToHashSet();
var unknown = chosen.Except(known).ToList();
if (unknown.Count > 0 || args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine("usage: dotnet run -c Release --project tests/TypedMqtt.Benchmarks [-- [e2e] [latency] [scale] [micro] [dispatch] [generator] [--quick] [--runs N] [--broker mosquitto|embedded] [--alloc-profile] [--cpu-run floor|raw|typed|typedthread|c [--scenario NAME]] [--latency-run typed|raw|c] [--storm-run N]]");
    return unknown.Count > 0 ? 2 : 0;
}

bool Runs(string part) => chosen.Count == 0 || chosen.Contains(part);
var runs = ArgValue("--runs") is { } r ? int.Parse(r, System.Globalization.CultureInfo.InvariantCulture) : quick ? 3 : 7;
var brokers = ArgValue("--broker") is { } b ? [b] : new[] { "mosquitto", "embedded" };

var payload = JsonSerializer.SerializeToUtf8Bytes(Reading.Sample, BenchJson.Default.Reading);
if (payload.Length != 99)
{
    Console.Error.WriteLine($"The payload is {payload.Length} bytes, not 99.");
    return 2;
}

if (args.Contains("--alloc-profile"))
{
    // Where the bytes go, by type, per variant: a diagnostic, not part of the report.
    await using var profiled = brokers[0] == "embedded" ? await BrokerProcess.StartEmbeddedAsync() : await BrokerProcess.StartMosquittoAsync(webSockets: true);
    await AllocationProfile.RunAsync(profiled, E2ESuite.Scenarios(quick), top: 25);
    return 0;
}

if (ArgValue("--cpu-run") is { } only)
{
    // One variant of one scenario (QoS 0 unless --scenario names another) over and over, for a CPU profiler attached
    // from outside (dotnet-trace collect -- ...) or to compare two builds.
    var variant = Enum.Parse<Variant>(only, ignoreCase: true);
    var scenarios = E2ESuite.Scenarios(quick);
    var named = ArgValue("--scenario");
    var scenario = named is null ? scenarios[0] : scenarios.FirstOrDefault(s => s.Name.Equals(named, StringComparison.OrdinalIgnoreCase));
    if (scenario is null)
    {
        Console.Error.WriteLine($"No E2E scenario is named \"{named}\". Name one of: {string.Join(", ", scenarios.Select(s => $"\"{s.Name}\""))}.");
        return 2;
    }

    await using var profiled = brokers[0] == "embedded" ? await BrokerProcess.StartEmbeddedAsync() : await BrokerProcess.StartMosquittoAsync(webSockets: scenario.WebSocket);

    await WarmUp.ForAsync(WarmUp.Minimum, () => EndToEnd.RunAsync(variant, profiled, scenario));
    for (var i = 0; i < 6; i++)
    {
        var result = await EndToEnd.RunAsync(variant, profiled, scenario);
        Console.WriteLine($"[cpu-run] {variant} {scenario.Name}: {result.MessagesPerSecond:N0} msg/s, {result.CpuMicrosecondsPerMessage:N1} us CPU/msg, broker {100 * result.BrokerBusy:N0} % busy and {100 * result.BrokerWaiting:N0} % waiting for a CPU");
    }

    return 0;
}

if (ArgValue("--latency-run") is { } latencyVariant)
{
    // One variant of the paced latency runs over and over, for a scheduler trace taken from outside (perf sched record -a).
    var variant = Enum.Parse<Variant>(latencyVariant, ignoreCase: true);
    await LatencySuite.RepeatAsync(variant, quick ? 2 : 6);
    return 0;
}

if (ArgValue("--storm-run") is { } stormSize)
{
    // The reconnect storm alone, three times, with the thread pool and the garbage collector sampled every 20 ms.
    await ScaleSuite.StormRunAsync(int.Parse(stormSize, System.Globalization.CultureInfo.InvariantCulture), quick ? 1 : 3);
    return 0;
}

var total = Stopwatch.StartNew();
var report = new Report();
report.Note($"Machine: {Machine.Describe()}. Mode: {(quick ? "--quick (smoke run, numbers not meaningful)" : "full")}. Total time: {{TOTAL}}.");

// The sections that measure this process's CPU, allocations and heap run first: in the three full runs of stop 15, the
// typed QoS 0 client spent 15-17 us of CPU per message after the in-process BenchmarkDotNet and Roslyn sections ran, and
// 5 us in an E2E-only run of the same build.
if (Runs("e2e"))
{
    await E2ESuite.RunAsync(report, quick, runs, brokers);
}

if (Runs("latency") && brokers.Contains("mosquitto"))
{
    await LatencySuite.RunAsync(report, quick, quick ? 3 : 5);
}

if (Runs("scale") && brokers.Contains("mosquitto"))
{
    await ScaleSuite.RunAsync(report, quick ? [100] : [100, 1_000, 10_000]);
}

if (Runs("micro"))
{
    Micro.Run(report, quick);
}

if (Runs("micro") || Runs("dispatch"))
{
    DispatchScaling.Run(report, quick);
}

if (Runs("generator"))
{
    GeneratorBenchmark.Run(report, quick);
}

var rendered = report.Render().Replace("{TOTAL}", $"{total.Elapsed.TotalSeconds:0} s", StringComparison.Ordinal);
Console.WriteLine();
Console.WriteLine("## TypedMqtt benchmark results");
Console.WriteLine(rendered);
var output = Path.Combine(Environment.CurrentDirectory, "artifacts", "benchmarks");
Directory.CreateDirectory(output);
var file = Path.Combine(output, $"results-{DateTime.UtcNow:yyyyMMdd-HHmmss}.md");
File.WriteAllText(file, "## TypedMqtt benchmark results\n" + rendered);
Console.WriteLine($"(also written to {file})");
return report.AllPass ? 0 : 1;

string? ArgValue(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}
