using Microsoft.CodeAnalysis;

namespace TypedMqtt.Generator.Diagnostics;

/// <summary>Every diagnostic TypedMqtt reports. Each is documented in docs/diagnostics.md under its id.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "TypedMqtt";
    /// <summary>Where each diagnostic is explained (its id, lower case, is the anchor): docs/diagnostics.md of the repository.</summary>
    public const string HelpLinkBase = "https://github.com/typedmqtt/typedmqtt/blob/main/docs/diagnostics.md#";

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
        "Topic parameter '{{{0}}}' in '{1}' has no method parameter named '{0}'; {2}");

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
        "TMQ0009", "Invalid QoS",
        "{0} is {1}; MQTT knows QoS 0 (MqttQos.AtMostOnce), 1 (AtLeastOnce) and 2 (ExactlyOnce)");

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
        "TMQ0016", "Invalid payload codec",
        "Codec '{0}' cannot be used for '{1}': {2}");

    public static readonly DiagnosticDescriptor RequestOnOlderContract = Error(
        "TMQ0018", "Request/response on a contract pinned to an older version",
        "'{0}' is a [Request], but contract '{1}' is pinned to {2}, which has no response topic or correlation data; set ProtocolVersion = MqttVersion.V500, or declare a [Publish] and a [Subscribe] and correlate them yourself");

    public static readonly DiagnosticDescriptor GeneratedNameTaken = Error(
        "TMQ0019", "A generated member's name is taken",
        "The responder of '{0}' would be generated as '{1}', but contract '{2}' already declares a member with that name; rename that member or the request method");

    public static readonly DiagnosticDescriptor UndefinedEnumValue = Error(
        "TMQ0020", "Option value is not a defined member of its enum",
        "{0} is {1}, which is not a member of {2}; use {3}");

    public static readonly DiagnosticDescriptor NumberOutOfRange = Error(
        "TMQ0021", "Count or size out of range",
        "{0} is {1}; {2}");

    public static readonly DiagnosticDescriptor InvalidSharedGroup = Error(
        "TMQ0022", "Invalid shared subscription group name",
        "SharedGroup '{0}' cannot be a share name: {1}");

    public static readonly DiagnosticDescriptor InvalidContentType = Error(
        "TMQ0023", "Invalid content type",
        "ContentType '{0}' cannot be sent: {1}");

    public static readonly DiagnosticDescriptor JsonContextNotAContext = Error(
        "TMQ0024", "JsonContext is not a JsonSerializerContext",
        "JsonContext '{0}' does not derive from System.Text.Json.Serialization.JsonSerializerContext; name a 'partial class {1}Json : JsonSerializerContext' with one [JsonSerializable(typeof(T))] per payload type");

    public static readonly DiagnosticDescriptor HandlerArgumentsOutOfOrder = Error(
        "TMQ0025", "Handler arguments out of order",
        "The handler of '{0}' takes ({1}), but it must take the topic values first, in template order, then the payload: ({2})");

    public static readonly DiagnosticDescriptor BaseContractsDisagree = Error(
        "TMQ0026", "Base contracts disagree on an inherited setting",
        "Contract '{0}' inherits {1} from its base contracts, which disagree ({2}); set it on '{0}' itself");

    public static readonly DiagnosticDescriptor DuplicatePublishTemplate = Warning(
        "TMQ0027", "Two publish operations publish to the same topics",
        "'{0}' publishes to '{1}', as '{2}' does ('{3}'); subscribers cannot tell the two apart; give one of them its own topic, or make them overloads of one method");

    public static readonly DiagnosticDescriptor PlainAndSharedOverlap = Warning(
        "TMQ0028", "A plain and a shared subscription overlap",
        "Filter '{0}' of '{1}' overlaps '{2}' of '{3}', which is shared in group '{4}', so a message on a topic such as '{5}' reaches '{1}' every time; with Mosquitto on MQTT 5 this client gets a second copy for the group only when the broker picks it, and that copy reaches only '{3}'; on MQTT 3.1.1 Mosquitto sends a single copy, which reaches both handlers, so '{3}' no longer gets only its share; MQTTnet's embedded broker has no shared subscriptions and refuses '{3}' (0x9E). Subscribe to disjoint filters, or drop one of the two");

    public static readonly DiagnosticDescriptor InvalidFake = Error(
        "TMQ0029", "[MqttFake] cannot generate a fake",
        "[MqttFake] on '{0}' cannot generate a fake: {1}");

    private static readonly DiagnosticDescriptor[] All =
    [
        ContractNotPartialInterface, PublishTopicHasWildcard, MalformedTopic, TemplateParameterNotBound, ParameterNotInTemplate,
        DuplicateTemplateParameter, UnsupportedTopicParameterType, MultiplePayloadParameters, InvalidQos, WrongMethodShape,
        PayloadTypeNotInJsonContext, InvalidWillTopic, Version5FeatureOnOlderContract, OverlappingFilters, MissingJsonContext, InvalidCodec,
        FlagsEnumTopicParameter, RequestOnOlderContract, GeneratedNameTaken, UndefinedEnumValue, NumberOutOfRange, InvalidSharedGroup,
        InvalidContentType, JsonContextNotAContext, HandlerArgumentsOutOfOrder, BaseContractsDisagree, DuplicatePublishTemplate,
        PlainAndSharedOverlap, InvalidFake,
    ];

    public static IEnumerable<DiagnosticDescriptor> AllDescriptors => All;

    private static DiagnosticDescriptor Error(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinkBase + id.ToLowerInvariant());

    private static DiagnosticDescriptor Warning(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLinkBase + id.ToLowerInvariant());
}
