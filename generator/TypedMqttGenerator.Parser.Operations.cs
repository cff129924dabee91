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
    /// <summary>The parser, part two: [Publish], [Request] and [Subscribe] methods, and how a sending method's parameters bind.</summary>
    internal sealed partial class Parser
    {
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

            return Operation(ContractOperationKind.Publish, method, returnsValueTask, template, topicParameters, payload, cancellation, qos) with
            {
                PayloadParameter = payloadParameter?.Name,
                PropertiesParameter = properties,
                Retain = NamedBool(attribute, "Retain"),
                MessageExpirySeconds = expiry,
                ContentType = contentType,
                ResponseTopic = responseTopic,
                UserProperties = userProperties.ToEquatableArray(),
                OfflinePolicy = NamedInt(attribute, "OfflinePolicy"),
            };
        }

        /// <summary>What every operation has, from its method and topic; the kind-specific parts are set with 'with'.</summary>
        private OperationModel Operation(ContractOperationKind kind, IMethodSymbol method, bool returnsValueTask, TopicTemplate template,
            List<TopicParameterModel> topicParameters, PayloadModel? payload, string? cancellation, int qos) => new(
                kind,
                method.Name,
                method.ReturnType.ToDisplayString(TypeFormat),
                returnsValueTask,
                Parameters(method),
                template.Levels.ToEquatableArray(),
                topicParameters.ToEquatableArray(),
                payload,
                PayloadParameter: null,
                PropertiesParameter: null,
                CancellationParameter: cancellation,
                Qos: qos,
                Retain: false,
                MessageExpirySeconds: 0,
                ContentType: null,
                ResponseTopic: null,
                UserProperties: EquatableArray<UserPropertyModel>.Empty,
                Subscribe: null);

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

            return Operation(ContractOperationKind.Request, method, returnsValueTask, template, bound.TopicParameters, payload, bound.Cancellation, qos) with
            {
                PayloadParameter = bound.Payload?.Name,
                PropertiesParameter = bound.Properties,
                UserProperties = userProperties.ToEquatableArray(),
                Request = new RequestModel(
                    reply!,
                    replyType.ToDisplayString(TypeFormat),
                    bound.Timeout?.Name,
                    bound.Timeout is not null && !IsType(bound.Timeout.Type, KnownTypeNames.TimeSpan),
                    timeoutSeconds,
                    sharedGroup,
                    maxConcurrency,
                    serveName),
            };
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

            return Operation(ContractOperationKind.Subscribe, method, returnsValueTask, template, topicParameters, payload, cancellation, qos) with
            {
                Subscribe = new SubscribeModel(template.Filter, handler.Name, takesContext, takesCancellation, handlerReturnsValueTask, returnsSubscription,
                    noLocal, retainAsPublished, retainHandling, sharedGroup, bufferCapacity, maxPayloadBytes),
            };
        }
    }
}
