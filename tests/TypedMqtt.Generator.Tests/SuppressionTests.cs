using Microsoft.CodeAnalysis;

namespace TypedMqtt.Generator.Tests;

/// <summary>The one warning, TMQ0014, must be suppressible where it occurs, not only project-wide with NoWarn.</summary>
public sealed class SuppressionTests
{
    private const string Contract = """
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Subscribe("home/{room}/temperature")]
            Task<IAsyncDisposable> OnTemperatureAsync(Func<string, string, Task> handler);

        #pragma warning disable TMQ0014 // both handlers are meant to see kitchen readings
            [Subscribe("home/kitchen/{*rest}")]
            Task<IAsyncDisposable> OnKitchenAsync(Func<string, string, Task> handler);
        #pragma warning restore TMQ0014
        }
        """;

    [Fact]
    public void PragmaWarningDisableSuppressesOverlappingFilters()
    {
        var (_, diagnostics, sources) = GeneratorHarness.Run(GeneratorHarness.Compilation(Contract));
        Assert.DoesNotContain(diagnostics, d => d.Id == "TMQ0014" && !d.IsSuppressed);
        Assert.Single(sources);
    }

    [Fact]
    public void WithoutThePragmaTheWarningIsReported()
    {
        var (_, diagnostics, _) = GeneratorHarness.Run(GeneratorHarness.Compilation(Contract.Replace("#pragma", "// ", StringComparison.Ordinal)));
        var warning = Assert.Single(diagnostics, d => d.Id == "TMQ0014");
        Assert.False(warning.IsSuppressed);
        Assert.Equal("OnKitchenAsync", warning.Location.SourceTree!.GetText().ToString(warning.Location.SourceSpan));
    }
}
