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
