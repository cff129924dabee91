using Microsoft.CodeAnalysis;

namespace TypedMqtt.Generator.Tests;

/// <summary>Generated code must compile with zero warnings under nullable and warnings-as-errors, against the real runtime.</summary>
public sealed class CompileTests
{
    public static TheoryData<string> Shapes => new(ContractShapes.All.Keys);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void GeneratedCodeCompilesWithoutWarnings(string shape)
    {
        // Documentation diagnostics are on, so generated members must carry docs; the test contracts themselves are exempt.
        var input = GeneratorHarness.Compilation("#pragma warning disable CS1591\n" + ContractShapes.All[shape]);
        var (output, generatorDiagnostics, sources) = GeneratorHarness.Run(input);
        Assert.Empty(generatorDiagnostics);
        Assert.NotEmpty(sources);
        Assert.Equal(input.SyntaxTrees.Count() + sources.Length, output.SyntaxTrees.Count());

        using var peStream = new MemoryStream();
        var emit = output.Emit(peStream);
        var problems = emit.Diagnostics
            .Where(d => d.Severity >= DiagnosticSeverity.Warning || d.IsWarningAsError)
            .Select(d => d.ToString())
            .ToList();
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
        Assert.True(emit.Success);
    }

    [Fact]
    public void CheckCatchesAWarningInGeneratedStyleCode()
    {
        // The same pipeline reports a nullable warning (as an error) when one is there, so the check above can fail.
        var input = GeneratorHarness.Compilation("""
            namespace Shapes;

            /// <summary>Has a nullable warning.</summary>
            public static class Broken
            {
                /// <summary>Returns null as non-null.</summary>
                /// <returns>Null.</returns>
                public static string Get() => null;
            }
            """);
        using var peStream = new MemoryStream();
        var emit = input.Emit(peStream);
        Assert.Contains(emit.Diagnostics, d => d.Id == "CS8603" && d.Severity == DiagnosticSeverity.Error);
    }
}
