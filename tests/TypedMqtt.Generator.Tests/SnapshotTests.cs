using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Text;

namespace TypedMqtt.Generator.Tests;

/// <summary>
/// Compares the generated source of every contract shape with Snapshots/{Name}.g.cs.
/// To accept new output, run the tests with TYPEDMQTT_UPDATE_SNAPSHOTS=1: the files are rewritten (and the tests pass);
/// then review the diff by eye before committing it.
/// </summary>
public sealed class SnapshotTests
{
    public static TheoryData<string> Shapes => new(ContractShapes.All.Keys);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void GeneratedSourceMatchesSnapshot(string shape)
    {
        var (_, diagnostics, generated) = GeneratorHarness.Run(GeneratorHarness.Compilation(ContractShapes.All[shape]));
        Assert.Empty(diagnostics);

        // A fake's shape keeps only the fake: its contract's client is the other shape's snapshot.
        var sources = shape.StartsWith("FakeOf", StringComparison.Ordinal)
            ? generated.Where(s => s.HintName.EndsWith(".Fake.g.cs", StringComparison.Ordinal)).ToImmutableArray()
            : generated;
        Assert.NotEmpty(sources);

        // Several hint names (a contract and its base contract) share one snapshot file, each under a header line.
        var actual = new StringBuilder();
        foreach (var source in sources)
        {
            if (sources.Length > 1)
            {
                actual.Append("// ----- ").Append(source.HintName).Append(" -----\n");
            }

            actual.Append(source.SourceText.ToString());
        }

        var path = SnapshotPath(shape);
        if (Environment.GetEnvironmentVariable("TYPEDMQTT_UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(path, actual.ToString(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            return;
        }

        Assert.True(File.Exists(path), $"No snapshot at {path}; run the tests with TYPEDMQTT_UPDATE_SNAPSHOTS=1 to create it.");
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), actual.ToString());
    }

    [Fact]
    public void EverySnapshotFileBelongsToAShape()
    {
        var orphans = Directory.EnumerateFiles(Path.GetDirectoryName(SnapshotPath("x"))!, "*.g.cs")
            .Select(f => Path.GetFileName(f)[..^".g.cs".Length])
            .Where(name => !ContractShapes.All.ContainsKey(name))
            .ToList();
        Assert.Empty(orphans);
    }

    private static string SnapshotPath(string shape, [CallerFilePath] string thisFile = "") =>
        Path.Combine(Path.GetDirectoryName(thisFile)!, "Snapshots", shape + ".g.cs");
}
