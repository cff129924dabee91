using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using TypedMqtt.Generator.Diagnostics;
using TypedMqtt.Generator.Model;

namespace TypedMqtt.Generator;

/// <summary>A fake to generate: the partial class marked [MqttFake] and the contract it implements.</summary>
internal sealed record FakeModel(string Namespace, string ClassName, ContractModel Contract)
{
    public string HintName => (Namespace.Length == 0 ? string.Empty : Namespace + ".") + ClassName + ".Fake.g.cs";
}

/// <summary>What parsing one [MqttFake] class yields: the model (none after an error) and its diagnostics.</summary>
internal sealed record FakeParseResult(FakeModel? Model, EquatableArray<ReportedDiagnostic> Diagnostics);

public sealed partial class TypedMqttGenerator
{
    /// <summary>Reads an [MqttFake(typeof(IX))] class: checks its shape and parses the contract (symbols stay here).</summary>
    internal static class FakeParser
    {
        public static FakeParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            var declaration = (ClassDeclarationSyntax)context.TargetNode;
            var symbol = (INamedTypeSymbol)context.TargetSymbol;
            var attribute = context.Attributes[0];
            var contract = attribute.ConstructorArguments.Length == 1 ? attribute.ConstructorArguments[0].Value as INamedTypeSymbol : null;
            var problem = !declaration.Modifiers.Any(SyntaxKind.PartialKeyword) ? "the class is not partial; declare it 'partial'"
                : symbol.ContainingType is not null ? "the class is nested in another type; declare it at the top level of a namespace"
                : symbol.IsGenericType ? "the class is generic"
                : symbol.IsStatic || symbol.IsAbstract ? "the class is static or abstract"
                : symbol.BaseType is { SpecialType: not SpecialType.System_Object } ? $"the class derives from '{symbol.BaseType.Name}'; a fake derives from MqttFake, so remove the base class"
                : contract is null ? "typeof(...) names no type"
                : contract.TypeKind != TypeKind.Interface || !contract.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == KnownTypeNames.MqttContractAttribute)
                    ? $"'{contract.Name}' is not an interface marked [MqttContract]"
                : null;
            ContractModel? model = null;
            if (problem is null)
            {
                model = Parser.ParseForFake(context.SemanticModel.Compilation, contract!, cancellationToken);
                if (model is null)
                {
                    problem = $"the contract '{contract!.Name}' has errors (see its TMQ diagnostics); fix them first";
                }
            }

            if (problem is not null)
            {
                var diagnostic = Diagnostic.Create(DiagnosticDescriptors.InvalidFake, declaration.Identifier.GetLocation(), symbol.Name, problem);
                return new FakeParseResult(null, new[] { new ReportedDiagnostic(diagnostic) }.ToEquatableArray());
            }

            var ns = symbol.ContainingNamespace.IsGlobalNamespace ? string.Empty : symbol.ContainingNamespace.ToDisplayString();
            return new FakeParseResult(new FakeModel(ns, symbol.Name, model!), EquatableArray<ReportedDiagnostic>.Empty);
        }
    }
}
