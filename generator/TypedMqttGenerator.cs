using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace TypedMqtt.Generator;

/// <summary>
/// Generates a typed MQTT client for every interface marked [MqttContract]. This file only wires the pipeline:
/// parsing is in <see cref="Parser"/>, emitting in <see cref="Emitter"/>.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class TypedMqttGenerator : IIncrementalGenerator
{
    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var parsed = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                KnownTypeNames.MqttContractAttribute,
                static (node, _) => node is TypeDeclarationSyntax,
                static (syntax, cancellationToken) => Parser.Parse(syntax, cancellationToken))
            .WithTrackingName(TrackingNames.Contracts);

        // Source depends on the value-equal model only, so edits elsewhere leave it cached.
        var contracts = parsed
            .Where(static result => result?.Model is not null)
            .Select(static (result, _) => result!.Model!)
            .WithTrackingName(TrackingNames.ContractsWithoutNulls);

        // Diagnostics keep real source locations (see ParseResult) and are reported on their own.
        var diagnostics = parsed
            .Where(static result => result is not null && result.Diagnostics.Count > 0)
            .Select(static (result, _) => result!.Diagnostics)
            .WithTrackingName(TrackingNames.Diagnostics);

        context.RegisterSourceOutput(contracts, static (output, contract) => output.AddSource(contract.HintName, Emitter.Emit(contract)));

        // One AsyncAPI document for all the assembly's contracts, unless the project sets TypedMqttAsyncApi to false.
        var assembly = context.CompilationProvider
            .Select(static (compilation, _) => (Name: compilation.AssemblyName ?? "Contracts", Version: compilation.Assembly.Identity.Version.ToString()));
        var asyncApiEnabled = context.AnalyzerConfigOptionsProvider
            .Select(static (options, _) => !options.GlobalOptions.TryGetValue("build_property.TypedMqttAsyncApi", out var value) || !string.Equals(value.Trim(), "false", StringComparison.OrdinalIgnoreCase));
        var asyncApi = contracts.Collect()
            .Combine(assembly)
            .Combine(asyncApiEnabled)
            .Select(static (input, _) => input.Right && input.Left.Left.Length > 0
                ? AsyncApi.AsyncApiDocument.Build(input.Left.Right.Name, input.Left.Right.Version, input.Left.Left)
                : null)
            .WithTrackingName(TrackingNames.AsyncApi);
        context.RegisterSourceOutput(asyncApi, static (output, document) =>
        {
            if (document is not null)
            {
                output.AddSource("TypedMqtt.AsyncApiDocument.g.cs", Emitter.EmitAsyncApi(document));
            }
        });

        // Fakes for tests: [MqttFake(typeof(IX))] partial class, where IX may come from a referenced assembly.
        var fakes = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                KnownTypeNames.MqttFakeAttribute,
                static (node, _) => node is ClassDeclarationSyntax,
                static (syntax, cancellationToken) => FakeParser.Parse(syntax, cancellationToken))
            .WithTrackingName(TrackingNames.Fakes);
        context.RegisterSourceOutput(fakes, static (output, fake) =>
        {
            foreach (var diagnostic in fake.Diagnostics)
            {
                output.ReportDiagnostic(diagnostic.Diagnostic);
            }

            if (fake.Model is { } model)
            {
                output.AddSource(model.HintName, Emitter.EmitFake(model));
            }
        });
        context.RegisterSourceOutput(diagnostics, static (output, diagnostics) =>
        {
            foreach (var diagnostic in diagnostics)
            {
                output.ReportDiagnostic(diagnostic.Diagnostic);
            }
        });
    }
}
