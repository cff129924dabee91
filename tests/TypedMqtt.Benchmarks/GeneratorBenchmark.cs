using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using static TypedMqtt.Benchmarks.Report;

namespace TypedMqtt.Benchmarks;

/// <summary>
/// Drives the TypedMqtt generator in-process with CSharpGeneratorDriver over a synthetic project of 200 contracts with
/// 10 operations each (5 publishes, 5 subscriptions, topic parameters of several types): the time of a full generation
/// (a new driver over a new compilation of already-parsed files), and of an edit to an unrelated file, which must
/// regenerate nothing: every tracked step Cached or Unchanged, every output Cached.
/// </summary>
internal static class GeneratorBenchmark
{
    private const int Contracts = 200;
    private const int OperationsPerContract = 10;
    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    public static void Run(Report report, bool quick)
    {
        Console.WriteLine("[generator] building the 200 x 10 project");
        var (generator, ownSteps) = LoadGenerator();
        var trees = Sources().Select(s => CSharpSyntaxTree.ParseText(s.Text, ParseOptions, path: s.Path)).ToImmutableArray();
        var references = References();
        CSharpCompilation Compile() => CSharpCompilation.Create("Contracts", trees, references, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorDriver NewDriver() => CSharpGeneratorDriver.Create([generator], parseOptions: ParseOptions, driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

        // Warm-up (JIT of the generator and of Roslyn's binder), then full generations.
        NewDriver().RunGenerators(Compile());
        var fullTimes = new List<double>();
        GeneratorDriverRunResult? full = null;
        for (var i = 0; i < (quick ? 1 : 5); i++)
        {
            var compilation = Compile();
            var watch = Stopwatch.StartNew();
            var driver = NewDriver().RunGenerators(compilation);
            fullTimes.Add(watch.Elapsed.TotalMilliseconds);
            full = driver.GetRunResult();
        }

        var generated = full!.Results.Single().GeneratedSources;
        var errors = full.Diagnostics.Count(d => d.Severity == DiagnosticSeverity.Error);

        // Unrelated edits: each one from the state the previous run left.
        var current = Compile();
        var incremental = NewDriver().RunGenerators(current);
        var editTimes = new List<double>();
        var reasons = new Dictionary<IncrementalStepRunReason, int>();
        var outputReasons = new Dictionary<IncrementalStepRunReason, int>();
        var changedSteps = new SortedSet<string>(StringComparer.Ordinal);
        var inputSteps = new SortedSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (quick ? 2 : 7); i++)
        {
            var old = current.SyntaxTrees.Single(t => t.FilePath == "/src/Unrelated.cs");
            var edited = CSharpSyntaxTree.ParseText(Unrelated(i + 1), ParseOptions, path: old.FilePath);
            current = current.ReplaceSyntaxTree(old, edited);
            var watch = Stopwatch.StartNew();
            incremental = incremental.RunGenerators(current);
            editTimes.Add(watch.Elapsed.TotalMilliseconds);
            var result = incremental.GetRunResult().Results.Single();
            foreach (var (name, steps) in result.TrackedSteps)
            {
                if (!ownSteps.Contains(name))
                {
                    // Roslyn's own inputs (the compilation, FAWMN's grouping) change with every edit by definition.
                    inputSteps.Add(name);
                    continue;
                }

                foreach (var output in steps.SelectMany(s => s.Outputs))
                {
                    reasons[output.Reason] = reasons.GetValueOrDefault(output.Reason) + 1;
                    if (output.Reason is not (IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged))
                    {
                        changedSteps.Add(name);
                    }
                }
            }

            foreach (var output in result.TrackedOutputSteps.Values.SelectMany(s => s).SelectMany(s => s.Outputs))
            {
                outputReasons[output.Reason] = outputReasons.GetValueOrDefault(output.Reason) + 1;
            }
        }

        report.Note($"Generator: Roslyn's own tracked steps, not checked (the compilation and ForAttributeWithMetadataName's plumbing change with any edit): {string.Join(", ", inputSteps)}. " +
            "'Unchanged' means the step re-ran and produced an equal model: ForAttributeWithMetadataName re-runs the transform (Parser.Parse) of every contract when the compilation changes; 'Cached' means it did not run.");
        var fullMedian = Median(fullTimes);
        var editMedian = Median(editTimes);
        var table = report.Table("Generator (in-process CSharpGeneratorDriver; 200 contracts x 10 operations)", "measurement", "median", "detail");
        table.Add(["full generation", $"{F(fullMedian, "N0")} ms", $"{fullTimes.Count} runs; {generated.Length} files, {F(generated.Sum(s => s.SourceText.Length) / 1024.0, "N0")} KB of C#; {errors} error diagnostics"]);
        table.Add(["unrelated edit (one file, no contract)", $"{F(editMedian, "N1")} ms", $"{editTimes.Count} edits; generator steps ({string.Join(", ", ownSteps.Order(StringComparer.Ordinal))}): {Describe(reasons)}; outputs: {Describe(outputReasons)}"]);
        table.Add(["edit / full", F(editMedian / fullMedian * 100, "0.0") + " %", string.Empty]);

        var nothingRegenerated = reasons.Count > 0 && outputReasons.Count > 0
            && reasons.Keys.All(r => r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged)
            && outputReasons.Keys.All(r => r is IncrementalStepRunReason.Cached);
        report.Target("Generator: an unrelated edit regenerates nothing (generator steps Cached/Unchanged, outputs Cached)", $"steps {Describe(reasons)}; outputs {Describe(outputReasons)}{(changedSteps.Count > 0 ? "; not cached: " + string.Join(", ", changedSteps) : string.Empty)}", nothingRegenerated);
        // One file per contract, and the assembly's AsyncAPI document (on by default since the AsyncAPI issue).
        var asyncApiDocument = generated.Count(s => s.HintName == "TypedMqtt.AsyncApiDocument.g.cs");
        report.Target("Generator: the 200 x 10 project generates without errors", $"{generated.Length} files ({generated.Length - asyncApiDocument} contracts + {asyncApiDocument} AsyncAPI document), {errors} errors", errors == 0 && generated.Length == Contracts + 1 && asyncApiDocument == 1);
    }

    private static string Describe(Dictionary<IncrementalStepRunReason, int> reasons) =>
        reasons.Count == 0 ? "none" : string.Join(", ", reasons.OrderBy(r => r.Key).Select(r => $"{r.Key} {r.Value}"));

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    /// <summary>The generator, and the names of its own tracked steps (TrackingNames); the other tracked steps are Roslyn's inputs.</summary>
    private static (ISourceGenerator Generator, HashSet<string> OwnSteps) LoadGenerator()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "generator", "TypedMqtt.Generator.dll");
        var assembly = Assembly.LoadFrom(path);
        var type = assembly.GetTypes().Single(t => typeof(IIncrementalGenerator).IsAssignableFrom(t) && !t.IsAbstract);
        var names = assembly.GetType("TypedMqtt.Generator.TrackingNames", throwOnError: true)!
            .GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToHashSet(StringComparer.Ordinal);
        return (((IIncrementalGenerator)Activator.CreateInstance(type)!).AsSourceGenerator(), names);
    }

    private static IEnumerable<(string Path, string Text)> Sources()
    {
        yield return ("/src/Shared.cs", Shared);
        yield return ("/src/Unrelated.cs", Unrelated(0));
        for (var c = 0; c < Contracts; c++)
        {
            yield return ($"/src/Contract{c}.cs", Contract(c));
        }
    }

    private static string Unrelated(int version) =>
        $"namespace Elsewhere;\n\npublic static class Unrelated\n{{\n    public static int Value() => {version.ToString(CultureInfo.InvariantCulture)};\n}}\n";

    private static string Contract(int c)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"namespace Fleet.Area{c % 10};\n\n[MqttContract(JsonContext = typeof(global::Fleet.FleetJson))]\npublic partial interface IDevice{c}\n{{\n");
        for (var o = 0; o < OperationsPerContract / 2; o++)
        {
            var (template, parameters, arguments) = (o % 5) switch
            {
                0 => ($"c{c}/{{site}}/op{o}/state", "string site", "string"),
                1 => ($"c{c}/{{site}}/floors/{{floor}}/op{o}", "string site, int floor", "string, int"),
                2 => ($"c{c}/devices/{{id}}/op{o}", "System.Guid id", "System.Guid"),
                3 => ($"c{c}/{{kind}}/{{on}}/op{o}", "global::Fleet.Kind kind, bool on", "global::Fleet.Kind, bool"),
                _ => ($"c{c}/op{o}/{{counter}}", "long counter", "long"),
            };
            text.Append(CultureInfo.InvariantCulture, $"    [Publish(\"{template}\", Qos = MqttQos.AtLeastOnce)]\n");
            text.Append(CultureInfo.InvariantCulture, $"    Task Publish{o}Async({parameters}, global::Fleet.Reading reading, CancellationToken cancellationToken = default);\n\n");
            text.Append(CultureInfo.InvariantCulture, $"    [Subscribe(\"{template}/in\")]\n");
            text.Append(CultureInfo.InvariantCulture, $"    Task<IAsyncDisposable> On{o}Async(Func<{arguments}, global::Fleet.Reading, MqttMessageContext, CancellationToken, Task> handler, CancellationToken cancellationToken = default);\n\n");
        }

        text.Append("}\n");
        return text.ToString();
    }

    // A hand-written stand-in for an STJ-generated context: TypedMqtt only reads its [JsonSerializable] attributes.
    private const string Shared = """
        global using System;
        global using System.Threading;
        global using System.Threading.Tasks;
        global using System.Text.Json;
        global using System.Text.Json.Serialization;
        global using System.Text.Json.Serialization.Metadata;
        global using TypedMqtt;

        namespace Fleet
        {
            public sealed record Reading(double Value, string Unit);

            public enum Kind { Sensor, Actuator }

            [JsonSerializable(typeof(Reading))]
            internal sealed class FleetJson : JsonSerializerContext
            {
                public FleetJson() : base(null) { }

                public static FleetJson Default { get; } = new();

                protected override JsonSerializerOptions? GeneratedSerializerOptions => null;

                public override JsonTypeInfo? GetTypeInfo(Type type) => null;
            }
        }
        """;

    /// <summary>The SDK's net10.0 reference pack plus TypedMqtt.dll and what its public surface needs, from this output directory.</summary>
    private static ImmutableArray<MetadataReference> References()
    {
        var runtimeDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var version = Path.GetFileName(runtimeDirectory);
        var packs = Path.GetFullPath(Path.Combine(runtimeDirectory, "..", "..", "..", "packs", "Microsoft.NETCore.App.Ref"));
        var pack = Path.Combine(packs, version, "ref", "net10.0");
        if (!Directory.Exists(pack))
        {
            pack = Directory.EnumerateDirectories(packs).Select(d => Path.Combine(d, "ref", "net10.0")).Where(Directory.Exists).Order(StringComparer.Ordinal).Last();
        }

        var files = Directory.EnumerateFiles(pack, "*.dll")
            .Concat(new[] { "TypedMqtt.dll", "MQTTnet.dll", "Microsoft.Extensions.Logging.Abstractions.dll" }.Select(f => Path.Combine(AppContext.BaseDirectory, f)));
        return [.. files.Select(f => (MetadataReference)MetadataReference.CreateFromFile(f))];
    }
}
