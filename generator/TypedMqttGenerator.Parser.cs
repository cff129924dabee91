using System.Globalization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using TypedMqtt.Generator.Diagnostics;
using TypedMqtt.Generator.Model;
using TypedMqtt.Topics;

namespace TypedMqtt.Generator;

public sealed partial class TypedMqttGenerator
{
    /// <summary>Turns one [MqttContract] declaration into a value-equal model plus its diagnostics. Symbols stay here.</summary>
    internal sealed class Parser
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

        // A JsonContext that is not a JsonSerializerContext was reported (TMQ0024); JSON payloads then report nothing more.
        private bool _jsonContextInvalid;
        private List<ITypeSymbol> _jsonTypes = [];
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

        private ParseResult Run(INamedTypeSymbol symbol, TypeDeclarationSyntax declaration, AttributeData attribute)
        {
            var model = ParseContract(symbol, declaration, attribute);
            var hasErrors = _diagnostics.Any(d => d.Diagnostic.Severity == DiagnosticSeverity.Error);
            return new ParseResult(hasErrors ? null : model, _diagnostics.ToEquatableArray());
        }

        private ContractModel ParseContract(INamedTypeSymbol symbol, TypeDeclarationSyntax declaration, AttributeData attribute)
        {
            _contract = symbol;
            _contractName = symbol.Name;
            var ns = symbol.ContainingNamespace.IsGlobalNamespace ? string.Empty : symbol.ContainingNamespace.ToDisplayString();
            var clientName = NamedString(attribute, "ClientName") ?? DefaultClientName(symbol.Name);
            var bases = symbol.AllInterfaces
                .Select(i => (Interface: i, Attribute: Attribute(i, KnownTypeNames.MqttContractAttribute)))
                .Where(b => b.Attribute is not null)
                .Select(b => (b.Interface, Attribute: b.Attribute!))
                .ToList();
            _version = NamedInt(attribute, "ProtocolVersion") ?? Inherited(bases, "ProtocolVersion", b => NamedInt(b.Attribute, "ProtocolVersion"), declaration)?.Value ?? 5;

            var problem = symbol.TypeKind != TypeKind.Interface ? "it is not an interface"
                : !declaration.Modifiers.Any(SyntaxKind.PartialKeyword) ? "it is not partial"
                : symbol.ContainingType is not null ? "it is nested in another type"
                : symbol.IsGenericType ? "it is generic"
                : null;
            if (problem is not null)
            {
                Report(DiagnosticDescriptors.ContractNotPartialInterface, declaration.Identifier.GetLocation(), symbol.Name, problem);
                return Model(ns, symbol, clientName, null, []);
            }

            if (_version is not (3 or 4 or 5))
            {
                Report(DiagnosticDescriptors.UndefinedEnumValue, ArgumentLocation(attribute, "ProtocolVersion"), "ProtocolVersion", _version.ToString(CultureInfo.InvariantCulture), "MqttVersion", "MqttVersion.V310, V311 or V500");
                _version = 5;
            }

            var contextAttribute = NamedType(attribute, "JsonContext") is not null ? attribute
                : Inherited(bases, "JsonContext", b => NamedType(b.Attribute, "JsonContext"), declaration)?.Source.Attribute;
            if (contextAttribute is not null)
            {
                ParseJsonContext(contextAttribute);
            }

            _contractUserProperties = UserProperties(symbol);
            if (_contractUserProperties.Count > 0)
            {
                RequireVersion5("[UserProperty] on the contract", declaration.Identifier.GetLocation());
            }

            var willOwner = Attribute(symbol, KnownTypeNames.WillAttribute) is not null ? symbol
                : Inherited(bases, "[Will]", b => Attribute(b.Interface, KnownTypeNames.WillAttribute) is { } w ? b.Interface.ToDisplayString() : null, declaration)?.Source.Interface;
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
            Func<(INamedTypeSymbol Interface, AttributeData Attribute), T?> read,
            TypeDeclarationSyntax declaration)
        {
            var values = bases.Select(b => (Value: read(b), Source: b)).Where(v => v.Value is not null).ToList();
            var distinct = values.Select(v => v.Value!.ToString()).Distinct(StringComparer.Ordinal).ToList();
            if (distinct.Count > 1)
            {
                Report(DiagnosticDescriptors.BaseContractsDisagree, declaration.Identifier.GetLocation(), _contract.Name, setting,
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
            operations.ToEquatableArray());

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

        private OperationModel? ParsePublish(IMethodSymbol method, AttributeData attribute)
        {
            var location = method.Locations.FirstOrDefault();
            var topic = attribute.ConstructorArguments.Length > 0 ? attribute.ConstructorArguments[0].Value as string ?? string.Empty : string.Empty;
            var topicLocation = ArgumentLocation(attribute, 0);
            var template = TopicTemplate.Parse(topic);
            var valid = CheckTemplate(template, topicLocation, isPublish: true);

            var returnsValueTask = IsType(method.ReturnType, KnownTypeNames.ValueTask);
            if (!returnsValueTask && !IsType(method.ReturnType, KnownTypeNames.Task))
            {
                Report(DiagnosticDescriptors.WrongMethodShape, location, method.Name, $"a [Publish] method returns Task or ValueTask, not '{method.ReturnType.ToDisplayString()}'");
                valid = false;
            }

            if (!template.HasKnownParameters)
            {
                // TMQ0003/TMQ0006 is already reported; binding an unreadable or ambiguous parameter list would only add noise.
                return null;
            }

            var bound = BindParameters(method, template, topic, topicLocation, takesTimeout: false);
            valid &= bound.Valid;
            var (cancellation, properties, topicParameters, payloadParameter) = (bound.Cancellation, bound.Properties, bound.TopicParameters, bound.Payload);

            var codec = NamedType(attribute, "Codec");
            var payload = payloadParameter is null ? null : ResolvePayload(payloadParameter.Type, codec, payloadParameter.Locations.FirstOrDefault(), ArgumentLocation(attribute, "Codec"));
            valid &= payloadParameter is null || payload is not null;

            var qos = CheckQos(attribute, $"QoS of '{method.Name}'");
            var expiry = NamedUInt(attribute, "MessageExpirySeconds");
            var contentType = NamedString(attribute, "ContentType");
            var responseTopic = NamedString(attribute, "ResponseTopic");
            if (expiry != 0)
            {
                RequireVersion5("MessageExpirySeconds", ArgumentLocation(attribute, "MessageExpirySeconds"));
            }

            if (contentType is not null)
            {
                RequireVersion5("ContentType", ArgumentLocation(attribute, "ContentType"));
                if (TopicRules.CheckUtf8String(contentType, "ContentType") is { } contentError)
                {
                    Report(DiagnosticDescriptors.InvalidContentType, ArgumentLocation(attribute, "ContentType"), TopicRules.Printable(contentType), contentError);
                }
            }

            if (responseTopic is not null)
            {
                RequireVersion5("ResponseTopic", ArgumentLocation(attribute, "ResponseTopic"));
                if (TopicRules.CheckTopicName(responseTopic) is { } responseError)
                {
                    Report(DiagnosticDescriptors.MalformedTopic, ArgumentLocation(attribute, "ResponseTopic"), responseTopic, responseError);
                }
            }

            if (NamedInt(attribute, "OfflinePolicy") is { } offline && offline is < 0 or > 3)
            {
                Report(DiagnosticDescriptors.UndefinedEnumValue, ArgumentLocation(attribute, "OfflinePolicy"), "OfflinePolicy", offline.ToString(CultureInfo.InvariantCulture), "MqttOfflinePolicy", "Queue, DropOldest, KeepLatestPerTopic or FailFast");
                valid = false;
            }

            var contractProperties = ContractUserProperties(method);
            var userProperties = contractProperties.Concat(UserProperties(method)).ToList();
            if (userProperties.Count > contractProperties.Count)
            {
                RequireVersion5("[UserProperty]", location);
            }

            if (!valid)
            {
                return null;
            }

            return new OperationModel(
                ContractOperationKind.Publish,
                method.Name,
                method.ReturnType.ToDisplayString(TypeFormat),
                returnsValueTask,
                Parameters(method),
                template.Levels.ToEquatableArray(),
                topicParameters.ToEquatableArray(),
                payload,
                payloadParameter?.Name,
                properties,
                cancellation,
                qos,
                NamedBool(attribute, "Retain"),
                expiry,
                contentType,
                responseTopic,
                userProperties.ToEquatableArray(),
                null,
                NamedInt(attribute, "OfflinePolicy"));
        }

        /// <summary>The parameters of a [Publish] or [Request] method, bound to their roles.</summary>
        private sealed class BoundParameters
        {
            public bool Valid { get; set; } = true;

            public string? Cancellation { get; set; }

            public string? Properties { get; set; }

            public IParameterSymbol? Timeout { get; set; }

            public List<TopicParameterModel> TopicParameters { get; } = [];

            public IParameterSymbol? Payload { get; set; }
        }

        /// <summary>
        /// Binds a sending method's parameters: the CancellationToken, the MqttMessageProperties, for a request the TimeSpan
        /// timeout, then one parameter per template parameter by name; the one left (or the one marked [Payload]) is the payload.
        /// </summary>
        private BoundParameters BindParameters(IMethodSymbol method, TopicTemplate template, string topic, Location? topicLocation, bool takesTimeout)
        {
            var location = method.Locations.FirstOrDefault();
            var bound = new BoundParameters();
            var candidates = new List<IParameterSymbol>();
            foreach (var parameter in method.Parameters)
            {
                if (IsType(parameter.Type, KnownTypeNames.CancellationToken) && bound.Cancellation is null)
                {
                    bound.Cancellation = parameter.Name;
                }
                else if (IsType(parameter.Type, KnownTypeNames.MqttMessageProperties) && bound.Properties is null)
                {
                    bound.Properties = parameter.Name;
                    RequireVersion5($"Per-call message properties (parameter '{parameter.Name}')", parameter.Locations.FirstOrDefault());
                }
                else if (takesTimeout && bound.Timeout is null && IsTimeSpan(parameter.Type))
                {
                    bound.Timeout = parameter;
                }
                else
                {
                    candidates.Add(parameter);
                }
            }

            var unbound = new List<string>();
            foreach (var level in template.Parameters)
            {
                var parameter = candidates.FirstOrDefault(p => p.Name == level.Parameter);
                if (parameter is null)
                {
                    unbound.Add(level.Parameter!);
                    continue;
                }

                candidates.Remove(parameter);
                var model = TopicParameter(level, parameter.Type, parameter.Locations.FirstOrDefault(), template);
                bound.Valid &= model is not null;
                if (model is not null)
                {
                    bound.TopicParameters.Add(model);
                }
            }

            if (unbound.Count > 0)
            {
                // One diagnostic per unbound template parameter, naming the parameters that could be meant; the payload
                // cannot be told apart from a misnamed topic parameter, so nothing is said about it.
                var others = string.Join(", ", candidates.Select(c => "'" + c.Name + "'"));
                foreach (var name in unbound)
                {
                    var advice = candidates.Count == 0
                        ? $"add a parameter named '{name}', or remove '{{{name}}}' from the template"
                        : $"rename the one of {others} that is the topic value to '{name}' (the one left is the payload), or rename the template parameter";
                    Report(DiagnosticDescriptors.TemplateParameterNotBound, topicLocation, name, topic, advice);
                }

                bound.Valid = false;
                return bound;
            }

            var marked = candidates.Where(p => Attribute(p, KnownTypeNames.PayloadAttribute) is not null).ToList();
            if (marked.Count == 1)
            {
                bound.Payload = marked[0];
                foreach (var extra in candidates.Where(p => !SymbolEqualityComparer.Default.Equals(p, bound.Payload)))
                {
                    Report(DiagnosticDescriptors.ParameterNotInTemplate, extra.Locations.FirstOrDefault(), extra.Name, method.Name, topic);
                    bound.Valid = false;
                }
            }
            else if (candidates.Count == 1)
            {
                bound.Payload = candidates[0];
            }
            else if (candidates.Count > 1)
            {
                Report(DiagnosticDescriptors.MultiplePayloadParameters, location, method.Name, string.Join(", ", candidates.Select(c => "'" + c.Name + "'")));
                bound.Valid = false;
            }

            return bound;
        }

        private static bool IsTimeSpan(ITypeSymbol type) =>
            IsType(type, KnownTypeNames.TimeSpan) ||
            (type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable && IsType(nullable.TypeArguments[0], KnownTypeNames.TimeSpan));

        private OperationModel? ParseRequest(IMethodSymbol method, AttributeData attribute)
        {
            var location = method.Locations.FirstOrDefault();
            if (_version != 5)
            {
                // One diagnostic for the whole operation: nothing else about it matters until the contract is MQTT 5.
                Report(DiagnosticDescriptors.RequestOnOlderContract, attribute.ApplicationSyntaxReference?.GetSyntax().GetLocation() ?? location, method.Name, _contractName, _version == 3 ? "MQTT 3.1" : "MQTT 3.1.1");
                return null;
            }

            var topic = attribute.ConstructorArguments.Length > 0 ? attribute.ConstructorArguments[0].Value as string ?? string.Empty : string.Empty;
            var topicLocation = ArgumentLocation(attribute, 0);
            var template = TopicTemplate.Parse(topic);
            var valid = CheckTemplate(template, topicLocation, isPublish: true);

            var returned = method.ReturnType as INamedTypeSymbol;
            var returnsValueTask = returned is not null && IsType(returned.ConstructedFrom, KnownTypeNames.ValueTaskOfT);
            var returnsTask = returned is not null && IsType(returned.ConstructedFrom, KnownTypeNames.TaskOfT);
            if (!returnsTask && !returnsValueTask)
            {
                Report(DiagnosticDescriptors.WrongMethodShape, location, method.Name, $"a [Request] method returns Task<TReply> or ValueTask<TReply> (the reply), not '{method.ReturnType.ToDisplayString()}'");
                return null;
            }

            if (!template.HasKnownParameters)
            {
                return null;
            }

            var bound = BindParameters(method, template, topic, topicLocation, takesTimeout: true);
            valid &= bound.Valid;
            var payload = bound.Payload is null ? null : ResolvePayload(bound.Payload.Type, NamedType(attribute, "Codec"), bound.Payload.Locations.FirstOrDefault(), ArgumentLocation(attribute, "Codec"));
            valid &= bound.Payload is null || payload is not null;
            var replyType = returned!.TypeArguments[0];
            var reply = ResolvePayload(replyType, NamedType(attribute, "ReplyCodec"), ReturnTypeLocation(method) ?? location, ArgumentLocation(attribute, "ReplyCodec"));
            valid &= reply is not null;

            var qos = CheckQos(attribute, $"QoS of '{method.Name}'", defaultQos: 1);
            var timeoutSeconds = NamedInt(attribute, "TimeoutSeconds") ?? 0;
            valid &= AtLeast(attribute, "TimeoutSeconds", timeoutSeconds, 0, "it must be 0 (the connection's RequestTimeout) or a positive number of seconds");
            var maxConcurrency = NamedInt(attribute, "MaxConcurrency") ?? 1;
            valid &= AtLeast(attribute, "MaxConcurrency", maxConcurrency, 1, "it must be at least 1");
            var sharedGroup = NamedString(attribute, "SharedGroup");
            valid &= CheckSharedGroup(attribute, sharedGroup);

            var serveName = "Serve" + (method.Name.EndsWith("Async", StringComparison.Ordinal) ? method.Name.Substring(0, method.Name.Length - 5) : method.Name) + "Async";
            if (AllMembers(_contract).Any(m => m.Name == serveName))
            {
                Report(DiagnosticDescriptors.GeneratedNameTaken, location, method.Name, serveName, _contractName);
                valid = false;
            }

            var userProperties = ContractUserProperties(method).Concat(UserProperties(method)).ToList();
            if (!valid)
            {
                return null;
            }

            return new OperationModel(
                ContractOperationKind.Request,
                method.Name,
                method.ReturnType.ToDisplayString(TypeFormat),
                returnsValueTask,
                Parameters(method),
                template.Levels.ToEquatableArray(),
                bound.TopicParameters.ToEquatableArray(),
                payload,
                bound.Payload?.Name,
                bound.Properties,
                bound.Cancellation,
                qos,
                false,
                0,
                null,
                null,
                userProperties.ToEquatableArray(),
                null,
                Request: new RequestModel(
                    reply!,
                    replyType.ToDisplayString(TypeFormat),
                    bound.Timeout?.Name,
                    bound.Timeout is not null && !IsType(bound.Timeout.Type, KnownTypeNames.TimeSpan),
                    timeoutSeconds,
                    sharedGroup,
                    maxConcurrency,
                    serveName));
        }

        private static Location? ReturnTypeLocation(IMethodSymbol method) =>
            method.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax() is MethodDeclarationSyntax syntax ? syntax.ReturnType.GetLocation() : null;

        private OperationModel? ParseSubscribe(IMethodSymbol method, AttributeData attribute)
        {
            var location = method.Locations.FirstOrDefault();
            var topic = attribute.ConstructorArguments.Length > 0 ? attribute.ConstructorArguments[0].Value as string ?? string.Empty : string.Empty;
            var topicLocation = ArgumentLocation(attribute, 0);
            var template = TopicTemplate.Parse(topic);
            var valid = CheckTemplate(template, topicLocation, isPublish: false);

            var returned = method.ReturnType as INamedTypeSymbol;
            var returnsValueTask = returned is not null && IsType(returned.ConstructedFrom, KnownTypeNames.ValueTaskOfT);
            var returnsTask = returned is not null && IsType(returned.ConstructedFrom, KnownTypeNames.TaskOfT);
            var resultType = (returnsTask || returnsValueTask) ? returned!.TypeArguments[0] : null;
            var returnsSubscription = resultType is not null && IsType(resultType, KnownTypeNames.MqttSubscription);
            if (resultType is null || !(returnsSubscription || IsType(resultType, KnownTypeNames.IAsyncDisposable)))
            {
                Report(DiagnosticDescriptors.WrongMethodShape, location, method.Name, $"a [Subscribe] method returns Task<IAsyncDisposable> (or Task<MqttSubscription>, or the ValueTask forms), not '{method.ReturnType.ToDisplayString()}'");
                valid = false;
            }

            if (!template.HasKnownParameters)
            {
                // TMQ0003/TMQ0006 is already reported; binding an unreadable or ambiguous parameter list would only add noise.
                return null;
            }

            string? cancellation = null;
            IParameterSymbol? handler = null;
            foreach (var parameter in method.Parameters)
            {
                if (IsType(parameter.Type, KnownTypeNames.CancellationToken) && cancellation is null)
                {
                    cancellation = parameter.Name;
                }
                else if (parameter.Type is INamedTypeSymbol { TypeKind: TypeKind.Delegate } && handler is null)
                {
                    handler = parameter;
                }
                else
                {
                    Report(DiagnosticDescriptors.WrongMethodShape, parameter.Locations.FirstOrDefault(), method.Name,
                        $"parameter '{parameter.Name}' is not the handler delegate or a CancellationToken; a [Subscribe] method takes (handler, CancellationToken cancellationToken = default)");
                    valid = false;
                }
            }

            if (handler is null)
            {
                Report(DiagnosticDescriptors.WrongMethodShape, location, method.Name, "a [Subscribe] method takes a handler such as Func<string, TPayload, MqttMessageContext, CancellationToken, Task>");
                return null;
            }

            var invoke = ((INamedTypeSymbol)handler.Type).DelegateInvokeMethod!;
            var handlerReturnsValueTask = IsType(invoke.ReturnType, KnownTypeNames.ValueTask);
            if (!handlerReturnsValueTask && !IsType(invoke.ReturnType, KnownTypeNames.Task))
            {
                Report(DiagnosticDescriptors.WrongMethodShape, handler.Locations.FirstOrDefault(), method.Name, "the handler must return Task or ValueTask");
                return null;
            }

            var arguments = invoke.Parameters.Select(p => p.Type).ToList();
            var takesCancellation = arguments.Count > 0 && IsType(arguments[arguments.Count - 1], KnownTypeNames.CancellationToken);
            if (takesCancellation)
            {
                arguments.RemoveAt(arguments.Count - 1);
            }

            var takesContext = arguments.Count > 0 && IsType(arguments[arguments.Count - 1], KnownTypeNames.MqttMessageContext);
            if (takesContext)
            {
                arguments.RemoveAt(arguments.Count - 1);
            }

            if (arguments.Count != template.Parameters.Count + 1)
            {
                var names = template.Parameters.Count == 0 ? "no parameters" : string.Join(", ", template.Parameters.Select(p => p.Text));
                Report(DiagnosticDescriptors.WrongMethodShape, handler.Locations.FirstOrDefault(), method.Name,
                    $"the handler must take one value per topic parameter ({names}), then the payload, then optionally MqttMessageContext and CancellationToken; it takes {arguments.Count} value(s) before those");
                return null;
            }

            if (OutOfOrder(arguments, template) is { } expected)
            {
                Report(DiagnosticDescriptors.HandlerArgumentsOutOfOrder, handler.Locations.FirstOrDefault(), method.Name,
                    string.Join(", ", arguments.Select(a => a.ToDisplayString())), expected);
                return null;
            }

            var topicParameters = new List<TopicParameterModel>();
            for (var i = 0; i < template.Parameters.Count; i++)
            {
                var model = TopicParameter(template.Parameters[i], arguments[i], handler.Locations.FirstOrDefault(), template);
                valid &= model is not null;
                if (model is not null)
                {
                    topicParameters.Add(model);
                }
            }

            var payload = ResolvePayload(arguments[arguments.Count - 1], NamedType(attribute, "Codec"), handler.Locations.FirstOrDefault(), ArgumentLocation(attribute, "Codec"));
            valid &= payload is not null;

            var qos = CheckQos(attribute, $"QoS of '{method.Name}'");
            var noLocal = NamedBool(attribute, "NoLocal");
            var retainAsPublished = NamedBool(attribute, "RetainAsPublished");
            var retainHandling = NamedInt(attribute, "RetainHandling") ?? 0;
            var sharedGroup = NamedString(attribute, "SharedGroup");
            var bufferCapacity = NamedInt(attribute, "BufferCapacity") ?? 1024;
            var maxPayloadBytes = attribute.NamedArguments.FirstOrDefault(a => a.Key == "MaxPayloadBytes").Value.Value is { } limit ? Convert.ToInt64(limit, CultureInfo.InvariantCulture) : 0L;
            valid &= AtLeast(attribute, "MaxPayloadBytes", maxPayloadBytes, 0, "it must be 0 (the connection's limit) or a positive number of bytes");
            if (retainHandling is < 0 or > 2)
            {
                Report(DiagnosticDescriptors.UndefinedEnumValue, ArgumentLocation(attribute, "RetainHandling"), "RetainHandling", retainHandling.ToString(CultureInfo.InvariantCulture), "MqttRetainHandling", "SendAtSubscribe, SendAtSubscribeIfNew or DoNotSend");
                valid = false;
            }

            valid &= AtLeast(attribute, "BufferCapacity", bufferCapacity, 1, "it must be at least 1");
            valid &= CheckSharedGroup(attribute, sharedGroup);

            if (noLocal)
            {
                RequireVersion5("NoLocal", ArgumentLocation(attribute, "NoLocal"));
            }

            if (retainAsPublished)
            {
                RequireVersion5("RetainAsPublished", ArgumentLocation(attribute, "RetainAsPublished"));
            }

            if (retainHandling != 0)
            {
                RequireVersion5("RetainHandling", ArgumentLocation(attribute, "RetainHandling"));
            }

            if (sharedGroup is not null)
            {
                RequireVersion5("A shared subscription (SharedGroup)", ArgumentLocation(attribute, "SharedGroup"));
            }

            if (!valid)
            {
                return null;
            }

            return new OperationModel(
                ContractOperationKind.Subscribe,
                method.Name,
                method.ReturnType.ToDisplayString(TypeFormat),
                returnsValueTask,
                Parameters(method),
                template.Levels.ToEquatableArray(),
                topicParameters.ToEquatableArray(),
                payload,
                null,
                null,
                cancellation,
                qos,
                false,
                0,
                null,
                null,
                EquatableArray<UserPropertyModel>.Empty,
                new SubscribeModel(template.Filter, handler.Name, takesContext, takesCancellation, handlerReturnsValueTask, returnsSubscription,
                    noLocal, retainAsPublished, retainHandling, sharedGroup, bufferCapacity, maxPayloadBytes));
        }

        private bool CheckTemplate(TopicTemplate template, Location? location, bool isPublish)
        {
            var valid = true;
            if (template.Duplicate is not null)
            {
                Report(DiagnosticDescriptors.DuplicateTemplateParameter, location, template.Text, template.Duplicate);
                valid = false;
            }

            if (isPublish)
            {
                var (wildcard, error) = template.CheckAsTopicName();
                if (wildcard is not null)
                {
                    Report(DiagnosticDescriptors.PublishTopicHasWildcard, location, template.Text, wildcard.Value.ToString());
                    return false;
                }

                if (error is not null)
                {
                    Report(DiagnosticDescriptors.MalformedTopic, location, template.Text, error);
                    return false;
                }
            }
            else if (template.CheckAsFilter() is { } filterError)
            {
                Report(DiagnosticDescriptors.MalformedTopic, location, template.Text, filterError);
                return false;
            }

            return valid;
        }

        private TopicParameterModel? TopicParameter(TemplateLevel level, ITypeSymbol type, Location? location, TopicTemplate template)
        {
            var levelIndex = template.Levels.IndexOf(level);
            var kind = ClassifyTopicType(type);
            if (kind is null || (level.IsCatchAll && kind != TopicValueKind.String))
            {
                if (type.TypeKind != TypeKind.Error)
                {
                    Report(DiagnosticDescriptors.UnsupportedTopicParameterType, location, level.Parameter!, type.ToDisplayString());
                }

                return null;
            }

            if (kind == TopicValueKind.Enum && type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == KnownTypeNames.FlagsAttribute))
            {
                Report(DiagnosticDescriptors.FlagsEnumTopicParameter, location, level.Parameter!, type.ToDisplayString());
                return null;
            }

            return new TopicParameterModel(level.Parameter!, type.ToDisplayString(TypeFormat), kind.Value, levelIndex, level.IsCatchAll);
        }

        /// <summary>
        /// A handler whose payload stands among its topic values (one argument cannot be a topic value, the last one can):
        /// the order it should have, else null.
        /// </summary>
        private static string? OutOfOrder(List<ITypeSymbol> arguments, TopicTemplate template)
        {
            var notTopic = arguments.Where(a => ClassifyTopicType(a) is null).ToList();
            if (notTopic.Count != 1 || ClassifyTopicType(arguments[arguments.Count - 1]) is null)
            {
                return null;
            }

            var topicValues = arguments.Where(a => ClassifyTopicType(a) is not null).ToList();
            var names = template.Parameters.Select((p, i) => topicValues[i].ToDisplayString() + " " + p.Parameter);
            return string.Join(", ", names.Concat([notTopic[0].ToDisplayString() + " payload"]));
        }

        private static TopicValueKind? ClassifyTopicType(ITypeSymbol type)
        {
            if (type.NullableAnnotation == NullableAnnotation.Annotated)
            {
                return null;
            }

            switch (type.SpecialType)
            {
                case SpecialType.System_String:
                    return TopicValueKind.String;
                case SpecialType.System_Boolean:
                    return TopicValueKind.Boolean;
                case SpecialType.System_Byte:
                case SpecialType.System_SByte:
                case SpecialType.System_Int16:
                case SpecialType.System_UInt16:
                case SpecialType.System_Int32:
                case SpecialType.System_UInt32:
                case SpecialType.System_Int64:
                case SpecialType.System_UInt64:
                    return TopicValueKind.Parsable;
            }

            if (type.TypeKind == TypeKind.Enum)
            {
                return TopicValueKind.Enum;
            }

            return type.ToDisplayString() == KnownTypeNames.Guid ? TopicValueKind.Parsable : null;
        }

        /// <summary>The codec of a payload type: <paramref name="location"/> is the payload's place, <paramref name="codecLocation"/> the Codec argument's.</summary>
        private PayloadModel? ResolvePayload(ITypeSymbol type, INamedTypeSymbol? codec, Location? location, Location? codecLocation = null)
        {
            var typeName = type.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(TypeFormat);
            var allowNull = type.NullableAnnotation == NullableAnnotation.Annotated || type.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T;
            if (type.TypeKind == TypeKind.Error)
            {
                return null;
            }

            if (codec is not null)
            {
                var implements = codec.AllInterfaces.Any(i =>
                    i.OriginalDefinition.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) == "global::TypedMqtt.IMqttPayloadCodec<T>" &&
                    SymbolEqualityComparer.Default.Equals(i.TypeArguments[0].WithNullableAnnotation(NullableAnnotation.NotAnnotated), type.WithNullableAnnotation(NullableAnnotation.NotAnnotated)));
                var constructible = !codec.IsAbstract && codec.InstanceConstructors.Any(c => c.Parameters.Length == 0 && c.DeclaredAccessibility is Accessibility.Public or Accessibility.Internal);
                if (!implements || !constructible)
                {
                    Report(DiagnosticDescriptors.InvalidCodec, codecLocation ?? location, codec.Name, type.ToDisplayString(),
                        !implements ? $"it does not implement IMqttPayloadCodec<{type.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString()}>" : "it needs a public or internal parameterless constructor");
                    return null;
                }

                return new PayloadModel(typeName, CodecKind.Custom, codec.ToDisplayString(TypeFormat), null, allowNull);
            }

            if (type.SpecialType == SpecialType.System_String)
            {
                return new PayloadModel(typeName, CodecKind.Utf8String, null, null, allowNull);
            }

            if (type is IArrayTypeSymbol { ElementType.SpecialType: SpecialType.System_Byte, Rank: 1 })
            {
                return new PayloadModel(typeName, CodecKind.ByteArray, null, null, allowNull);
            }

            if (type is INamedTypeSymbol named && IsType(named.ConstructedFrom, KnownTypeNames.ReadOnlyMemory) && named.TypeArguments[0].SpecialType == SpecialType.System_Byte)
            {
                return new PayloadModel(typeName, CodecKind.Memory, null, null, false);
            }

            if (_jsonContext is null)
            {
                if (_jsonContextInvalid)
                {
                    return null;
                }

                Report(DiagnosticDescriptors.MissingJsonContext, location, type.ToDisplayString(), _contractName);
                return null;
            }

            var plain = type.WithNullableAnnotation(NullableAnnotation.NotAnnotated);
            if (!_jsonTypes.Any(t => SymbolEqualityComparer.Default.Equals(t.WithNullableAnnotation(NullableAnnotation.NotAnnotated), plain)))
            {
                Report(DiagnosticDescriptors.PayloadTypeNotInJsonContext, location, plain.ToDisplayString(), _jsonContext.Name);
                return null;
            }

            return new PayloadModel(plain.ToDisplayString(TypeFormat), CodecKind.Json, null, _jsonContext.ToDisplayString(TypeFormat), allowNull);
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

        private EquatableArray<ParameterModel> Parameters(IMethodSymbol method) =>
            method.Parameters.Select(p => new ParameterModel(p.Name, p.Type.ToDisplayString(TypeFormat) + " " + EscapeIdentifier(p.Name) + DefaultValue(p))).ToEquatableArray();

        private static string EscapeIdentifier(string name) =>
            SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

        private static string DefaultValue(IParameterSymbol parameter)
        {
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
