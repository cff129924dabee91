using System.Collections;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace TypedMqtt.Generator.Tests;

/// <summary>An edit that does not touch a contract must regenerate nothing; an edit to a contract must.</summary>
public sealed class IncrementalityTests
{
    private const string Contract = """
        namespace Shapes;

        [MqttContract(JsonContext = typeof(ShapesJson))]
        public partial interface IHome
        {
            [Publish("home/{room}/temperature", Qos = MqttQos.AtLeastOnce)]
            Task PublishTemperatureAsync(string room, Reading reading, CancellationToken cancellationToken = default);

            [Subscribe("home/{room}/temperature")]
            Task<IAsyncDisposable> OnTemperatureAsync(Func<string, Reading, Task> handler);
        }

        public static class Neighbour
        {
            public static int Answer() => 42;
        }
        """;

    private const string Other = """
        namespace Elsewhere;

        public static class Unrelated
        {
            public static int Value() => 1;
        }
        """;

    private static readonly string[] TrackedSteps = [TrackingNames.Contracts, TrackingNames.ContractsWithoutNulls, TrackingNames.AsyncApi];

    public static TheoryData<string> UnrelatedEdits => new() { "add a file", "edit another file", "edit another class in the contract's file" };

    [Theory]
    [MemberData(nameof(UnrelatedEdits))]
    public void UnrelatedEditRegeneratesNothing(string edit)
    {
        var first = GeneratorHarness.Compilation(Contract, Other);
        var driver = GeneratorHarness.Driver(trackSteps: true, asyncApi: true).RunGenerators(first);
        var before = driver.GetRunResult();
        Assert.Contains(before.GeneratedTrees, t => t.FilePath.EndsWith("TypedMqtt.AsyncApiDocument.g.cs", StringComparison.Ordinal));

        var second = edit switch
        {
            "add a file" => first.AddSyntaxTrees(Parse("namespace Elsewhere; public static class Added { }", "/src/Added.cs")),
            "edit another file" => Replace(first, "/src/File2.cs", "=> 1;", "=> 2;"),
            _ => Replace(first, "/src/File1.cs", "=> 42;", "=> 43;"),
        };
        var after = driver.RunGenerators(second).GetRunResult();

        var result = after.Results.Single();
        foreach (var step in TrackedSteps)
        {
            var reasons = result.TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
            Assert.NotEmpty(reasons);
            Assert.All(reasons, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{step}: {r}"));
        }

        var output = result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
        Assert.NotEmpty(output);
        Assert.All(output, r => Assert.Equal(IncrementalStepRunReason.Cached, r));
        Assert.Equal(Sources(before), Sources(after));
    }

    [Fact]
    public void ChangingATopicRegeneratesTheClient()
    {
        var first = GeneratorHarness.Compilation(Contract, Other);
        var driver = GeneratorHarness.Driver(trackSteps: true, asyncApi: true).RunGenerators(first);
        var before = driver.GetRunResult();

        var second = Replace(first, "/src/File1.cs", "[Publish(\"home/{room}/temperature\"", "[Publish(\"house/{room}/temperature\"");
        var after = driver.RunGenerators(second).GetRunResult();

        var result = after.Results.Single();
        foreach (var step in TrackedSteps)
        {
            Assert.Contains(IncrementalStepRunReason.Modified, result.TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => o.Reason));
        }

        Assert.Contains(IncrementalStepRunReason.Modified, result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs).Select(o => o.Reason));
        Assert.NotEqual(Sources(before), Sources(after));
        Assert.Contains("\"house/", Sources(after).Single(s => !s.Contains("class AsyncApiDocument", StringComparison.Ordinal)));
        Assert.Contains("house/{room}/temperature", Sources(after).Single(s => s.Contains("class AsyncApiDocument", StringComparison.Ordinal)));
    }

    [Fact]
    public void EditingTheJsonContextInAnotherFileUpdatesTheDiagnostics()
    {
        // The contract's file is untouched, yet its model depends on ShapesJson's [JsonSerializable] list in the prelude.
        var contract = Contract.Replace("Reading reading, CancellationToken", "Unlisted reading, CancellationToken", StringComparison.Ordinal);
        var first = GeneratorHarness.Compilation(contract, Other);
        var driver = GeneratorHarness.Driver(trackSteps: true).RunGenerators(first);
        Assert.Contains(driver.GetRunResult().Diagnostics, d => d.Id == "TMQ0011");

        var second = Replace(first, "/src/File0.cs", "[JsonSerializable(typeof(Status))]", "[JsonSerializable(typeof(Status))]\n[JsonSerializable(typeof(Unlisted))]");
        var after = driver.RunGenerators(second).GetRunResult();
        Assert.DoesNotContain(after.Diagnostics, d => d.Id == "TMQ0011");
        Assert.Single(after.GeneratedTrees);
    }

    private const string Overlapping = """

        [MqttContract(JsonContext = typeof(ShapesJson))]
        public partial interface IWatcher
        {
            [Subscribe("home/{room}/temperature")]
            Task<IAsyncDisposable> OnAAsync(Func<string, Reading, Task> handler);

            [Subscribe("home/kitchen/{what}")]
            Task<IAsyncDisposable> OnBAsync(Func<string, Reading, Task> handler);
        }
        """;

    [Fact]
    public void ModelsHoldNoRoslynObjects()
    {
        // Diagnostics travel beside the models with real locations (see ParseResult); the models themselves must not.
        var driver = GeneratorHarness.Driver(trackSteps: true).RunGenerators(GeneratorHarness.Compilation(Contract + Overlapping));
        var result = driver.GetRunResult().Results.Single();
        Assert.Contains(result.Diagnostics, d => d.Id == "TMQ0014");

        var parsed = result.TrackedSteps[TrackingNames.Contracts].SelectMany(s => s.Outputs).Select(o => ((ParseResult)o.Value).Model).ToList();
        var models = result.TrackedSteps[TrackingNames.ContractsWithoutNulls].SelectMany(s => s.Outputs).Select(o => o.Value).ToList();
        Assert.Equal(2, parsed.Count);
        Assert.Equal(2, models.Count);
        foreach (var model in parsed.Concat(models))
        {
            Assert.IsType<Model.ContractModel>(model);
            Assert.Empty(RoslynObjectsIn(model));
        }
    }

    [Fact]
    public void UnrelatedEditKeepsReportedDiagnosticsCached()
    {
        var first = GeneratorHarness.Compilation(Contract + Overlapping, Other);
        var driver = GeneratorHarness.Driver(trackSteps: true).RunGenerators(first);
        var after = driver.RunGenerators(Replace(first, "/src/File2.cs", "=> 1;", "=> 2;")).GetRunResult();

        var warning = Assert.Single(after.Diagnostics, d => d.Id == "TMQ0014");
        Assert.True(warning.Location.IsInSource);
        var reasons = after.Results.Single().TrackedSteps[TrackingNames.Diagnostics].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
        Assert.NotEmpty(reasons);
        Assert.All(reasons, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, r.ToString()));
    }

    [Fact]
    public void TheWalkerFindsARoslynObject()
    {
        // Proves the check above can fail: a record holding a Location, nested in a list inside an array.
        var location = Location.Create("/x.cs", default, default);
        var found = RoslynObjectsIn(new object[] { 1, new List<object> { ("a", new Holder(location)) } });
        Assert.Contains(found, f => f.Contains(nameof(Location), StringComparison.Ordinal));
    }

    private sealed record Holder(object Inner);

    private static readonly Type[] Forbidden =
    [
        typeof(ISymbol), typeof(SyntaxNode), typeof(SyntaxTree), typeof(Location), typeof(Compilation), typeof(SemanticModel), typeof(AttributeData),
    ];

    /// <summary>Walks fields (of records, structs, arrays, collections) and names every Roslyn object reachable from <paramref name="root"/>.</summary>
    private static List<string> RoslynObjectsIn(object? root)
    {
        var found = new List<string>();
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<(object Value, string Path)>();
        if (root is not null)
        {
            pending.Push((root, root.GetType().Name));
        }

        while (pending.Count > 0)
        {
            var (value, path) = pending.Pop();
            var type = value.GetType();
            if (type.IsPrimitive || type.IsEnum || value is string || value is decimal || !seen.Add(value))
            {
                continue;
            }

            if (Forbidden.Any(f => f.IsAssignableFrom(type)))
            {
                found.Add($"{path}: {type.Name}");
                continue;
            }

            if (value is IEnumerable sequence)
            {
                var i = 0;
                foreach (var item in sequence)
                {
                    if (item is not null)
                    {
                        pending.Push((item, $"{path}[{i}]"));
                    }

                    i++;
                }
            }

            for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
            {
                foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    if (field.GetValue(value) is { } child)
                    {
                        pending.Push((child, $"{path}.{field.Name}"));
                    }
                }
            }
        }

        return found;
    }

    private static SyntaxTree Parse(string text, string path) => CSharpSyntaxTree.ParseText(text, GeneratorHarness.ParseOptions, path);

    private static Compilation Replace(Compilation compilation, string path, string oldText, string newText)
    {
        var tree = compilation.SyntaxTrees.Single(t => t.FilePath == path);
        var text = tree.GetText().ToString();
        Assert.Contains(oldText, text, StringComparison.Ordinal);
        return compilation.ReplaceSyntaxTree(tree, Parse(text.Replace(oldText, newText, StringComparison.Ordinal), path));
    }

    private static List<string> Sources(GeneratorDriverRunResult run) =>
        run.Results.Single().GeneratedSources.Select(s => s.HintName + "\n" + s.SourceText).ToList();
}
