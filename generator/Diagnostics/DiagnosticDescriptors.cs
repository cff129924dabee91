using Microsoft.CodeAnalysis;

namespace TypedMqtt.Generator.Diagnostics;

/// <summary>Every diagnostic TypedMqtt reports. Each is documented in docs/diagnostics.md under its id.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "TypedMqtt";
    private const string HelpLinkBase = "docs/diagnostics.md#";

    public static readonly DiagnosticDescriptor ContractNotPartialInterface = Error(
        "TMQ0001", "MQTT contract must be a top-level, non-generic partial interface",
        "'{0}' is marked [MqttContract] but {1}; declare it as a top-level 'public partial interface'");

    public static readonly DiagnosticDescriptor PublishTopicHasWildcard = Error(
        "TMQ0002", "Publish topic contains a wildcard",
        "Publish topic '{0}' contains the wildcard '{1}'; a published topic names one topic: use a {{parameter}} for the varying level");

    public static readonly DiagnosticDescriptor MalformedTopic = Error(
        "TMQ0003", "Malformed topic template",
        "Topic template '{0}' is invalid: {1}");

    public static readonly DiagnosticDescriptor TemplateParameterNotBound = Error(
        "TMQ0004", "Template parameter has no matching method parameter",
        "Topic parameter '{{{0}}}' in '{1}' has no method parameter named '{0}'; add one or rename the template parameter");

    public static readonly DiagnosticDescriptor ParameterNotInTemplate = Error(
        "TMQ0005", "Method parameter is not in the topic template",
        "Parameter '{0}' of '{1}' is neither a topic parameter of '{2}' nor the payload; add '{{{0}}}' to the template or remove the parameter");

    public static readonly DiagnosticDescriptor DuplicateTemplateParameter = Error(
        "TMQ0006", "Duplicate template parameter",
        "Topic template '{0}' uses the parameter '{{{1}}}' more than once; give each level its own name");

    public static readonly DiagnosticDescriptor UnsupportedTopicParameterType = Error(
        "TMQ0007", "Unsupported topic parameter type",
        "Topic parameter '{0}' has type '{1}', which cannot be a topic level; use string, an integer type, Guid, bool or an enum (a catch-all {{*name}} must be string)");

    public static readonly DiagnosticDescriptor FlagsEnumTopicParameter = Error(
        "TMQ0017", "[Flags] enum as a topic parameter",
        "Topic parameter '{0}' has the [Flags] enum type '{1}': a combination of flags has no single member name, so one value would not be one topic level; use an enum without [Flags], or one topic parameter per flag");

    public static readonly DiagnosticDescriptor MultiplePayloadParameters = Error(
        "TMQ0008", "More than one payload parameter",
        "'{0}' has more than one parameter that is not in the topic template ({1}); a message has one payload: bind the others to the topic or mark the payload with [Payload]");

    public static readonly DiagnosticDescriptor InvalidQos = Error(
        "TMQ0009", "Invalid QoS or option value",
        "{0} is {1}; {2}");

    public static readonly DiagnosticDescriptor WrongMethodShape = Error(
        "TMQ0010", "Contract method has the wrong shape",
        "'{0}' cannot be generated: {1}");

    public static readonly DiagnosticDescriptor PayloadTypeNotInJsonContext = Error(
        "TMQ0011", "Payload type missing from the JSON context",
        "Payload type '{0}' is not declared in JSON context '{1}'; add [JsonSerializable(typeof({0}))] to '{1}'");

    public static readonly DiagnosticDescriptor InvalidWillTopic = Error(
        "TMQ0012", "Invalid will topic",
        "Will topic '{0}' is invalid: {1}");

    public static readonly DiagnosticDescriptor Version5FeatureOnOlderContract = Error(
        "TMQ0013", "MQTT 5 feature on a contract pinned to an older version",
        "{0} is an MQTT 5 feature, but contract '{1}' is pinned to {2}; remove it or set ProtocolVersion = MqttVersion.V500");

    public static readonly DiagnosticDescriptor OverlappingFilters = Warning(
        "TMQ0014", "Overlapping subscription filters",
        "Filter '{0}' of '{1}' overlaps '{2}' of '{3}': a message on a topic such as '{4}' reaches both handlers, each once on MQTT 5 with subscription identifiers; on MQTT 3.1.1, or a server without them, every copy the broker sends reaches every matching handler, so a broker that sends one copy per subscription runs each handler once per matching subscription");

    public static readonly DiagnosticDescriptor MissingJsonContext = Error(
        "TMQ0015", "JSON payload without a JSON context",
        "Payload type '{0}' is serialized as JSON, but contract '{1}' declares no JsonContext; set [MqttContract(JsonContext = typeof(YourJsonContext))]");

    public static readonly DiagnosticDescriptor InvalidCodec = Error(
        "TMQ0016", "Invalid payload codec or JSON context",
        "'{0}' cannot be used: {1}");

    public static readonly DiagnosticDescriptor RequestOnOlderContract = Error(
        "TMQ0018", "Request/response on a contract pinned to an older version",
        "'{0}' is a [Request], but contract '{1}' is pinned to {2}, which has no response topic or correlation data; set ProtocolVersion = MqttVersion.V500, or declare a [Publish] and a [Subscribe] and correlate them yourself");

    public static readonly DiagnosticDescriptor GeneratedNameTaken = Error(
        "TMQ0019", "A generated member's name is taken",
        "The responder of '{0}' would be generated as '{1}', but contract '{2}' already declares a member with that name; rename that member or the request method");

    private static readonly DiagnosticDescriptor[] All =
    [
        ContractNotPartialInterface, PublishTopicHasWildcard, MalformedTopic, TemplateParameterNotBound, ParameterNotInTemplate,
        DuplicateTemplateParameter, UnsupportedTopicParameterType, MultiplePayloadParameters, InvalidQos, WrongMethodShape,
        PayloadTypeNotInJsonContext, InvalidWillTopic, Version5FeatureOnOlderContract, OverlappingFilters, MissingJsonContext, InvalidCodec,
        FlagsEnumTopicParameter, RequestOnOlderContract, GeneratedNameTaken,
    ];

    public static IEnumerable<DiagnosticDescriptor> AllDescriptors => All;

    private static DiagnosticDescriptor Error(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinkBase + id.ToLowerInvariant());

    private static DiagnosticDescriptor Warning(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLinkBase + id.ToLowerInvariant());
}
