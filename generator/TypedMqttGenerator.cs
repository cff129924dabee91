using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using TypedMqtt.Generator.Model;

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
        var contracts = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                KnownTypeNames.MqttContractAttribute,
                static (node, _) => node is TypeDeclarationSyntax,
                static (syntax, cancellationToken) => Parser.Parse(syntax, cancellationToken))
            .WithTrackingName(TrackingNames.Contracts)
            .Where(static model => model is not null)
            .Select(static (model, _) => model!)
            .WithTrackingName(TrackingNames.ContractsWithoutNulls);

        context.RegisterSourceOutput(contracts, static (output, contract) => Execute(output, contract));
    }

    private static void Execute(SourceProductionContext output, ContractModel contract)
    {
        var hasErrors = false;
        foreach (var diagnostic in contract.Diagnostics)
        {
            var reported = diagnostic.ToDiagnostic();
            hasErrors |= reported.Severity == DiagnosticSeverity.Error;
            output.ReportDiagnostic(reported);
        }

        if (!hasErrors)
        {
            output.AddSource(contract.HintName, Emitter.Emit(contract));
        }
    }
}
