using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;

namespace TypedMqtt.Generator.Tests;

/// <summary>
/// Runs the generator through Microsoft.CodeAnalysis.Testing: every {|TMQ0003:...|} span in the source must carry exactly
/// that diagnostic, and no other diagnostic (generator or compiler error) may appear. Generated sources are not compared
/// here; the snapshot tests do that.
/// </summary>
internal static class MarkupVerifier
{
    public static Task VerifyAsync(string source, params DiagnosticResult[] expected)
    {
        var test = new CSharpSourceGeneratorTest<TypedMqttGenerator, DefaultVerifier>
        {
            TestBehaviors = TestBehaviors.SkipGeneratedSourcesCheck,
            ReferenceAssemblies = TestReferences.None,
            TestState =
            {
                Sources = { "#nullable enable\n" + source, ("Prelude.cs", GeneratorHarness.Prelude) },
            },
            SolutionTransforms =
            {
                (solution, projectId) => solution.WithProjectParseOptions(projectId, new CSharpParseOptions(LanguageVersion.Latest)),
            },
        };
        test.TestState.AdditionalReferences.AddRange(TestReferences.All);
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync();
    }
}
