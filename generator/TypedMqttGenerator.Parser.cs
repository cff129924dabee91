using System.Globalization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using TypedMqtt.Generator.AsyncApi;
using TypedMqtt.Generator.Diagnostics;
using TypedMqtt.Generator.Model;
using TypedMqtt.Topics;

namespace TypedMqtt.Generator;

public sealed partial class TypedMqttGenerator
{
    /// <summary>
    /// Turns one [MqttContract] declaration into a value-equal model plus its diagnostics; symbols stay here. This part: the
    /// contract and its inherited settings, the will, overlaps, attribute helpers; operations and types are in the other parts.
    /// </summary>
    internal sealed partial class Parser
    {
        private static readonly SymbolDisplayFormat TypeFormat = SymbolDisplayFormat.FullyQualifiedFormat
            .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

        private readonly List<ReportedDiagnostic> _diagnostics = [];
        private readonly Compilation _compilation;
        private readonly CancellationToken _cancellationToken;
        private INamedTypeSymbol _contract = null!;
        private string _contractName = string.Empty;
        private int _version;
        private INamedTypeSymbol? _jsonContext;
        private Location _location = Location.None;

        // A JsonContext that is not a JsonSerializerContext was reported (TMQ0024); JSON payloads then report nothing more.
        private bool _jsonContextInvalid;
        private List<ITypeSymbol> _jsonTypes = [];

        // JSON Schemas of the contract's JSON payloads, for the AsyncAPI document; made on the first JSON payload.
        private PayloadSchemas? _schemas;
        private List<UserPropertyModel> _contractUserProperties = [];

        private Parser(Compilation compilation, CancellationToken cancellationToken)
        {
            _compilation = compilation;
            _cancellationToken = cancellationToken;
        }

        public static ParseResult? Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken) =>
            context.TargetSymbol is INamedTypeSymbol symbol
                ? new Parser(context.SemanticModel.Compilation, cancellationToken).Run(symbol, (TypeDeclarationSyntax)context.TargetNode, context.Attributes[0])
                : null;

        private ParseResult Run(INamedTypeSymbol symbol, TypeDeclarationSyntax? declaration, AttributeData attribute)
        {
            var model = ParseContract(symbol, declaration, attribute);
            var hasErrors = _diagnostics.Any(d => d.Diagnostic.Severity == DiagnosticSeverity.Error);
            return new ParseResult(hasErrors ? null : model, _diagnostics.ToEquatableArray());
        }

        /// <summary>
        /// Parses a contract for a generated fake (<c>[MqttFake(typeof(IX))]</c>), where the interface may come from a
        /// referenced assembly: no diagnostics are kept (the contract's own build reports them), only a model when it is valid.
        /// </summary>
        public static ContractModel? ParseForFake(Compilation compilation, INamedTypeSymbol contract, CancellationToken cancellationToken)
        {
            if (Attribute(contract, KnownTypeNames.MqttContractAttribute) is not { } attribute)
            {
                return null;
            }

            var declaration = contract.DeclaringSyntaxReferences.Select(r => r.GetSyntax(cancellationToken)).OfType<TypeDeclarationSyntax>().FirstOrDefault();
            var parser = new Parser(compilation, cancellationToken);
            var result = parser.Run(contract, declaration, attribute);
            return result.Model;
        }

        private ContractModel ParseContract(INamedTypeSymbol symbol, TypeDeclarationSyntax? declaration, AttributeData attribute)
        {
            _contract = symbol;
            _location = declaration?.Identifier.GetLocation() ?? Location.None;
            _contractName = symbol.Name;
            var ns = symbol.ContainingNamespace.IsGlobalNamespace ? string.Empty : symbol.ContainingNamespace.ToDisplayString();
            var clientName = NamedString(attribute, "ClientName") ?? DefaultClientName(symbol.Name);
            var bases = symbol.AllInterfaces
                .Select(i => (Interface: i, Attribute: Attribute(i, KnownTypeNames.MqttContractAttribute)))
                .Where(b => b.Attribute is not null)
                .Select(b => (b.Interface, Attribute: b.Attribute!))
                .ToList();
            _version = NamedInt(attribute, "ProtocolVersion") ?? Inherited(bases, "ProtocolVersion", b => NamedInt(b.Attribute, "ProtocolVersion"))?.Value ?? 5;

            var problem = symbol.TypeKind != TypeKind.Interface ? "it is not an interface"
                : declaration is not null && !declaration.Modifiers.Any(SyntaxKind.PartialKeyword) ? "it is not partial"
                : symbol.ContainingType is not null ? "it is nested in another type"
                : symbol.IsGenericType ? "it is generic"
                : null;
            if (problem is not null)
            {
                Report(DiagnosticDescriptors.ContractNotPartialInterface, _location, symbol.Name, problem);
                return Model(ns, symbol, clientName, null, []);
            }

            if (_version is not (3 or 4 or 5))
            {
                Report(DiagnosticDescriptors.UndefinedEnumValue, ArgumentLocation(attribute, "ProtocolVersion"), "ProtocolVersion", _version.ToString(CultureInfo.InvariantCulture), "MqttVersion", "MqttVersion.V310, V311 or V500");
                _version = 5;
            }

            var contextAttribute = NamedType(attribute, "JsonContext") is not null ? attribute
                : Inherited(bases, "JsonContext", b => NamedType(b.Attribute, "JsonContext"))?.Source.Attribute;
            if (contextAttribute is not null)
            {
                ParseJsonContext(contextAttribute);
            }

            _contractUserProperties = UserProperties(symbol);
            if (_contractUserProperties.Count > 0)
            {
                RequireVersion5("[UserProperty] on the contract", _location);
            }

            var willOwner = Attribute(symbol, KnownTypeNames.WillAttribute) is not null ? symbol
                : Inherited(bases, "[Will]", b => Attribute(b.Interface, KnownTypeNames.WillAttribute) is { } w ? b.Interface.ToDisplayString() : null)?.Source.Interface;
            var will = willOwner is null ? null : ParseWill(willOwner);
            var operations = new List<OperationModel>();
            foreach (var member in AllMembers(symbol))
            {
                _cancellationToken.ThrowIfCancellationRequested();
                var operation = ParseMember(member);
                if (operation is not null)
                {
                    operations.Add(operation);
                }
            }

            ReportOverlaps(operations);
            NameOverloads(operations);
            return Model(ns, symbol, clientName, will, operations);
        }

        /// <summary>
        /// A setting the contract does not set itself, taken from its base contracts: the one value they agree on, or
        /// none; when they disagree, TMQ0026 at the contract.
        /// </summary>
        private (T Value, (INamedTypeSymbol Interface, AttributeData Attribute) Source)? Inherited<T>(
            List<(INamedTypeSymbol Interface, AttributeData Attribute)> bases,
            string setting,
            Func<(INamedTypeSymbol Interface, AttributeData Attribute), T?> read)
        {
            var values = bases.Select(b => (Value: read(b), Source: b)).Where(v => v.Value is not null).ToList();
            var distinct = values.Select(v => v.Value!.ToString()).Distinct(StringComparer.Ordinal).ToList();
            if (distinct.Count > 1)
            {
                Report(DiagnosticDescriptors.BaseContractsDisagree, _location, _contract.Name, setting,
                    string.Join(", ", values.Select(v => $"{v.Source.Interface.Name}: {v.Value}")));
                return null;
            }

            return values.Count == 0 ? null : (values[0].Value!, values[0].Source);
        }

        /// <summary>Overloads share a method name: each gets a suffix (_1, _2... in declaration order) for its generated fields.</summary>
        private static void NameOverloads(List<OperationModel> operations)
        {
            foreach (var overloads in Enumerable.Range(0, operations.Count).GroupBy(i => operations[i].MethodName, StringComparer.Ordinal).Where(g => g.Count() > 1))
            {
                var number = 0;
                foreach (var i in overloads)
                {
                    operations[i] = operations[i] with { MemberSuffix = "_" + (++number).ToString(CultureInfo.InvariantCulture) };
                }
            }
        }

        private ContractModel Model(string ns, INamedTypeSymbol symbol, string clientName, WillModel? will, List<OperationModel> operations) => new(
            ns,
            symbol.Name,
            symbol.ToDisplayString(TypeFormat),
            clientName,
            symbol.DeclaredAccessibility == Accessibility.Public ? "public" : "internal",
            symbol.AllInterfaces.Any(i => Attribute(i, KnownTypeNames.MqttContractAttribute) is not null),
            _version,
            will,
            operations.ToEquatableArray(),
            (_schemas?.Definitions ?? []).ToEquatableArray());

        private static string DefaultClientName(string interfaceName) => StemOf(interfaceName) + "Client";

        /// <summary>An interface name without its 'I' prefix: IHome -> Home.</summary>
        private static string StemOf(string interfaceName) =>
            interfaceName.Length > 1 && interfaceName[0] == 'I' && char.IsUpper(interfaceName[1]) ? interfaceName.Substring(1) : interfaceName;

        private static IEnumerable<ISymbol> AllMembers(INamedTypeSymbol symbol) =>
            symbol.GetMembers().Concat(symbol.AllInterfaces.SelectMany(i => i.GetMembers()));

        private void ParseJsonContext(AttributeData attribute)
        {
            var context = attribute.NamedArguments.FirstOrDefault(a => a.Key == "JsonContext").Value.Value as INamedTypeSymbol;
            if (context is null)
            {
                return;
            }

            var isContext = false;
            for (var type = context.BaseType; type is not null; type = type.BaseType)
            {
                if (type.ToDisplayString() == "System.Text.Json.Serialization.JsonSerializerContext")
                {
                    isContext = true;
                    break;
                }
            }

            if (!isContext)
            {
                Report(DiagnosticDescriptors.JsonContextNotAContext, ArgumentLocation(attribute, "JsonContext"), context.ToDisplayString(), StemOf(_contractName));
                _jsonContextInvalid = true;
                return;
            }

            _jsonContext = context;
            _jsonTypes = context.GetAttributes()
                .Where(a => a.AttributeClass?.ToDisplayString() == KnownTypeNames.JsonSerializableAttribute)
                .Select(a => a.ConstructorArguments.Length > 0 ? a.ConstructorArguments[0].Value as ITypeSymbol : null)
                .Where(t => t is not null)
                .Select(t => t!)
                .ToList();
        }

        private WillModel? ParseWill(INamedTypeSymbol symbol)
        {
            var attribute = symbol.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == KnownTypeNames.WillAttribute);
            if (attribute is null || attribute.ConstructorArguments.Length < 2)
            {
                return null;
            }

            var topic = attribute.ConstructorArguments[0].Value as string ?? string.Empty;
            var location = ArgumentLocation(attribute, 0);
            var template = TopicTemplate.Parse(topic);
            var (wildcard, error) = template.CheckAsTopicName();
            var otherParameter = template.Parameters.FirstOrDefault(p => p.Parameter != "clientId" || p.IsCatchAll);
            var willError = wildcard is not null ? $"it contains the wildcard '{wildcard}'; a will is published to one topic"
                : error ?? (otherParameter is not null ? $"'{otherParameter.Text}' is not allowed: the only parameter a will topic may use is {{clientId}}" : null);
            if (willError is not null)
            {
                Report(DiagnosticDescriptors.InvalidWillTopic, location, topic, willError);
            }

            if (attribute.ConstructorArguments[1].Value is not ITypeSymbol payloadType)
            {
                return null;
            }

            var payload = ResolvePayload(payloadType, null, ArgumentLocation(attribute, 1));
            var qos = CheckQos(attribute, "Will QoS");
            var delay = NamedUInt(attribute, "DelaySeconds");
            var expiry = NamedUInt(attribute, "MessageExpirySeconds");
            var contentType = NamedString(attribute, "ContentType");
            if (delay != 0)
            {
                RequireVersion5("A will delay interval", ArgumentLocation(attribute, "DelaySeconds"));
            }

            if (expiry != 0)
            {
                RequireVersion5("A will message expiry", ArgumentLocation(attribute, "MessageExpirySeconds"));
            }

            if (contentType is not null)
            {
                RequireVersion5("A will content type", ArgumentLocation(attribute, "ContentType"));
            }

            return payload is null || willError is not null
                ? null
                : new WillModel(topic, payload, qos, NamedBool(attribute, "Retain"), delay, expiry, contentType);
        }

        private OperationModel? ParseMember(ISymbol member)
        {
            if (member is IMethodSymbol { MethodKind: not MethodKind.Ordinary })
            {
                return null;
            }

            if (member.IsStatic || !member.IsAbstract)
            {
                // Static members and default implementations need nothing generated.
                return null;
            }

            var location = member.Locations.FirstOrDefault();
            if (member is not IMethodSymbol method)
            {
                Report(DiagnosticDescriptors.WrongMethodShape, location, member.Name, "a contract may only declare methods marked [Publish], [Subscribe] or [Request]; properties and events cannot be generated");
                return null;
            }

            var publish = Attribute(method, KnownTypeNames.PublishAttribute);
            var subscribe = Attribute(method, KnownTypeNames.SubscribeAttribute);
            var request = Attribute(method, KnownTypeNames.RequestAttribute);
            var kinds = new[] { (publish, "[Publish]"), (subscribe, "[Subscribe]"), (request, "[Request]") }.Where(k => k.Item1 is not null).Select(k => k.Item2).ToList();
            if (kinds.Count != 1)
            {
                Report(DiagnosticDescriptors.WrongMethodShape, location, method.Name,
                    kinds.Count == 0 ? "it has none of [Publish], [Subscribe] or [Request]" : $"it has both {kinds[0]} and {kinds[1]}; declare one method for each");
                return null;
            }

            if (method.IsGenericMethod)
            {
                Report(DiagnosticDescriptors.WrongMethodShape, location, method.Name, "contract methods cannot be generic");
                return null;
            }

            if (method.Parameters.FirstOrDefault(p => p.RefKind != RefKind.None || p.IsParams) is { } byRef)
            {
                Report(DiagnosticDescriptors.WrongMethodShape, byRef.Locations.FirstOrDefault(), method.Name, $"parameter '{byRef.Name}' is ref, out, in or params; contract parameters are passed by value");
                return null;
            }

            return publish is not null ? ParsePublish(method, publish)
                : subscribe is not null ? ParseSubscribe(method, subscribe)
                : ParseRequest(method, request!);
        }

        private void ReportOverlaps(List<OperationModel> operations)
        {
            var subscriptions = operations.Where(o => o.Subscribe is not null).ToList();
            for (var i = 0; i < subscriptions.Count; i++)
            {
                for (var j = i + 1; j < subscriptions.Count; j++)
                {
                    var a = subscriptions[i];
                    var b = subscriptions[j];
                    var (groupA, groupB) = (a.Subscribe!.SharedGroup, b.Subscribe!.SharedGroup);
                    if (groupA is not null && groupB is not null && groupA != groupB)
                    {
                        continue; // two groups: each gets its own share, as intended
                    }

                    var sample = FilterOverlap.SampleTopic(a.Subscribe.Filter, b.Subscribe.Filter);
                    if (sample is null)
                    {
                        continue;
                    }

                    if (groupA == groupB)
                    {
                        Report(DiagnosticDescriptors.OverlappingFilters, LocationOf(b), b.Subscribe.Filter, b.MethodName, a.Subscribe.Filter, a.MethodName, sample);
                    }
                    else
                    {
                        var (plain, shared) = groupA is null ? (a, b) : (b, a);
                        Report(DiagnosticDescriptors.PlainAndSharedOverlap, LocationOf(b), plain.Subscribe!.Filter, plain.MethodName, shared.Subscribe!.Filter, shared.MethodName, shared.Subscribe.SharedGroup!, sample);
                    }
                }
            }

            var publishes = operations.Where(o => o.Kind == ContractOperationKind.Publish).ToList();
            for (var i = 0; i < publishes.Count; i++)
            {
                for (var j = i + 1; j < publishes.Count; j++)
                {
                    var (a, b) = (publishes[i], publishes[j]);
                    if (a.MethodName != b.MethodName && a.Filter == b.Filter)
                    {
                        Report(DiagnosticDescriptors.DuplicatePublishTemplate, LocationOf(b), b.MethodName, b.Template, a.MethodName, a.Template);
                    }
                }
            }
        }

        private Location? LocationOf(OperationModel operation) =>
            AllMembers(_contract).FirstOrDefault(m => m.Name == operation.MethodName)?.Locations.FirstOrDefault() ?? _contract.Locations.FirstOrDefault();

        private EquatableArray<ParameterModel> Parameters(IMethodSymbol method)
        {
            // The declaration's parameter list, looked up once per method (per parameter it costs a tree search each).
            var references = method.DeclaringSyntaxReferences;
            var declared = references.Length == 1 && references[0].GetSyntax(_cancellationToken) is MethodDeclarationSyntax syntax && syntax.ParameterList.Parameters.Count == method.Parameters.Length
                ? syntax.ParameterList.Parameters
                : default(SeparatedSyntaxList<ParameterSyntax>?);
            return method.Parameters.Select((p, i) =>
            {
                var type = p.Type.ToDisplayString(TypeFormat);
                return new ParameterModel(p.Name, type + " " + EscapeIdentifier(p.Name) + DefaultValue(p, declared?[i]), type);
            }).ToEquatableArray();
        }

        private static string EscapeIdentifier(string name) =>
            SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

        private static string DefaultValue(IParameterSymbol parameter, ParameterSyntax? syntax)
        {
            // Most defaults are written `= default`, `= null`, `= true` or `= false`, or are absent: read those from the
            // syntax. Asking the symbol binds the default value (with a nullable analysis of it), which was an eighth of
            // the generator's time on a new compilation.
            if (syntax is not null && DefaultFromSyntax(parameter, syntax) is { } fromSyntax)
            {
                return fromSyntax;
            }

            if (!parameter.HasExplicitDefaultValue)
            {
                return string.Empty;
            }

            return parameter.ExplicitDefaultValue switch
            {
                null => parameter.Type.IsValueType && parameter.Type.OriginalDefinition.SpecialType != SpecialType.System_Nullable_T ? " = default" : " = null",
                string s => " = " + SymbolDisplay.FormatLiteral(s, quote: true),
                bool b => b ? " = true" : " = false",
                IFormattable f when parameter.Type.TypeKind == TypeKind.Enum => $" = ({parameter.Type.ToDisplayString(TypeFormat)})({f.ToString(null, CultureInfo.InvariantCulture)})",
                IFormattable f => " = " + f.ToString(null, CultureInfo.InvariantCulture),
                _ => " = default",
            };
        }

        /// <summary>The default value clause when the declaration says it plainly (no default, or a keyword literal); null when it must be bound.</summary>
        private static string? DefaultFromSyntax(IParameterSymbol parameter, ParameterSyntax syntax)
        {
            if (syntax.Default is null)
            {
                return syntax.AttributeLists.Count == 0 ? string.Empty : null; // [DefaultParameterValue] and [Optional] need the symbol
            }

            var defaultOfType = parameter.Type.IsValueType && parameter.Type.OriginalDefinition.SpecialType != SpecialType.System_Nullable_T ? " = default" : " = null";
            return syntax.Default.Value.Kind() switch
            {
                SyntaxKind.DefaultLiteralExpression => defaultOfType,
                SyntaxKind.NullLiteralExpression => defaultOfType,
                SyntaxKind.TrueLiteralExpression => " = true",
                SyntaxKind.FalseLiteralExpression => " = false",
                _ => null,
            };
        }

        /// <summary>TMQ0021 at the argument when a count or size is below its minimum.</summary>
        private bool AtLeast(AttributeData attribute, string name, long value, long minimum, string advice)
        {
            if (value >= minimum)
            {
                return true;
            }

            Report(DiagnosticDescriptors.NumberOutOfRange, ArgumentLocation(attribute, name), name, value.ToString(CultureInfo.InvariantCulture), advice);
            return false;
        }

        /// <summary>TMQ0022 at the argument when a SharedGroup cannot be a share name.</summary>
        private bool CheckSharedGroup(AttributeData attribute, string? sharedGroup)
        {
            if (sharedGroup is null || TopicRules.CheckShareName(sharedGroup) is not { } error)
            {
                return true;
            }

            Report(DiagnosticDescriptors.InvalidSharedGroup, ArgumentLocation(attribute, "SharedGroup"), TopicRules.Printable(sharedGroup), error);
            return false;
        }

        private int CheckQos(AttributeData attribute, string what, int defaultQos = 0)
        {
            var qos = NamedInt(attribute, "Qos") ?? defaultQos;
            if (qos is < 0 or > 2)
            {
                Report(DiagnosticDescriptors.InvalidQos, ArgumentLocation(attribute, "Qos"), what, qos.ToString(CultureInfo.InvariantCulture));
                return 0;
            }

            return qos;
        }

        private void RequireVersion5(string feature, Location? location)
        {
            if (_version != 5)
            {
                Report(DiagnosticDescriptors.Version5FeatureOnOlderContract, location, feature, _contractName, _version == 3 ? "MQTT 3.1" : "MQTT 3.1.1");
            }
        }

        /// <summary>The [UserProperty] attributes of the contract that declares <paramref name="method"/> (a base contract's for its own methods).</summary>
        private List<UserPropertyModel> ContractUserProperties(IMethodSymbol method) =>
            SymbolEqualityComparer.Default.Equals(method.ContainingType, _contract) ? _contractUserProperties : UserProperties(method.ContainingType);

        private static List<UserPropertyModel> UserProperties(ISymbol symbol) => symbol.GetAttributes()
            .Where(a => a.AttributeClass?.ToDisplayString() == KnownTypeNames.UserPropertyAttribute && a.ConstructorArguments.Length == 2)
            .Select(a => new UserPropertyModel(a.ConstructorArguments[0].Value as string ?? string.Empty, a.ConstructorArguments[1].Value as string ?? string.Empty))
            .ToList();

        private static AttributeData? Attribute(ISymbol symbol, string fullName) =>
            symbol.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == fullName);

        private static bool IsType(ITypeSymbol type, string metadataName) =>
            type.OriginalDefinition.ContainingNamespace is not null &&
            (type.OriginalDefinition.ContainingNamespace.ToDisplayString() + "." + type.OriginalDefinition.MetadataName) == metadataName;

        private static string? NamedString(AttributeData attribute, string name) =>
            attribute.NamedArguments.FirstOrDefault(a => a.Key == name).Value.Value as string;

        private static INamedTypeSymbol? NamedType(AttributeData attribute, string name) =>
            attribute.NamedArguments.FirstOrDefault(a => a.Key == name).Value.Value as INamedTypeSymbol;

        private static bool NamedBool(AttributeData attribute, string name) =>
            attribute.NamedArguments.FirstOrDefault(a => a.Key == name).Value.Value is true;

        private static int? NamedInt(AttributeData attribute, string name) =>
            attribute.NamedArguments.FirstOrDefault(a => a.Key == name).Value.Value is { } value ? Convert.ToInt32(value, CultureInfo.InvariantCulture) : null;

        private static uint NamedUInt(AttributeData attribute, string name) =>
            attribute.NamedArguments.FirstOrDefault(a => a.Key == name).Value.Value is { } value ? Convert.ToUInt32(value, CultureInfo.InvariantCulture) : 0;

        private static Location? ArgumentLocation(AttributeData attribute, int index) =>
            attribute.ApplicationSyntaxReference?.GetSyntax() is AttributeSyntax { ArgumentList: { } list } && list.Arguments.Count > index
                ? list.Arguments[index].GetLocation()
                : attribute.ApplicationSyntaxReference?.GetSyntax().GetLocation();

        private static Location? ArgumentLocation(AttributeData attribute, string name) =>
            attribute.ApplicationSyntaxReference?.GetSyntax() is AttributeSyntax { ArgumentList: { } list }
                ? (list.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == name) ?? (SyntaxNode)list).GetLocation()
                : attribute.ApplicationSyntaxReference?.GetSyntax().GetLocation();

        private void Report(DiagnosticDescriptor descriptor, Location? location, params string[] arguments) =>
            _diagnostics.Add(new ReportedDiagnostic(Diagnostic.Create(descriptor, location, arguments.Cast<object>().ToArray())));
    }
}
