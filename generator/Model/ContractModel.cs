namespace TypedMqtt.Generator.Model;

/// <summary>Everything the emitter needs about one contract: strings, numbers and value-equal arrays only.</summary>
/// <remarks><see cref="InheritsContract"/>: a base interface is itself a contract, so its generated static Attach must be hidden with 'new'.</remarks>
internal sealed record ContractModel(
    string Namespace,
    string InterfaceName,
    string InterfaceFullName,
    string ClientName,
    string Accessibility,
    bool InheritsContract,
    int ProtocolVersion,
    WillModel? Will,
    EquatableArray<OperationModel> Operations,
    EquatableArray<SchemaDefinition> Schemas = default)
{
    public string HintName => (Namespace.Length == 0 ? string.Empty : Namespace + ".") + ClientName + ".g.cs";
}

/// <summary>The declared last will.</summary>
internal sealed record WillModel(
    string Topic,
    PayloadModel Payload,
    int Qos,
    bool Retain,
    uint DelaySeconds,
    uint MessageExpirySeconds,
    string? ContentType);

/// <summary>How a payload type is encoded.</summary>
internal enum CodecKind
{
    None,
    Json,
    Utf8String,
    ByteArray,
    Memory,
    Custom,
}

/// <summary>A payload type and its codec; <paramref name="Schema"/> is its JSON Schema (compact JSON) for the AsyncAPI document.</summary>
internal sealed record PayloadModel(
    string TypeName,
    CodecKind Codec,
    string? CodecType,
    string? JsonContext,
    bool AllowNull,
    string Schema = "{}");

/// <summary>A named object schema that payload schemas refer to (<c>#/components/schemas/{Key}</c>).</summary>
internal sealed record SchemaDefinition(string Key, string Json);

internal enum ContractOperationKind
{
    Publish,
    Subscribe,
    Request,
}

/// <summary>How a topic parameter is formatted into and parsed out of a level.</summary>
internal enum TopicValueKind
{
    String,
    Parsable,
    Enum,
    Boolean,
}

/// <summary>One level of a topic template.</summary>
internal sealed record TemplateLevel(string Text, string? Parameter, bool IsCatchAll);

/// <summary>A template parameter bound to a method parameter (publish) or a handler argument (subscribe).</summary>
internal sealed record TopicParameterModel(
    string Name,
    string TypeName,
    TopicValueKind Kind,
    int LevelIndex,
    bool IsCatchAll,
    EquatableArray<string> EnumMembers = default);

/// <summary>A method parameter, in declaration order, as the emitter re-declares it.</summary>
internal sealed record ParameterModel(string Name, string Declaration, string Type);

/// <summary>One publish or subscribe method.</summary>
internal sealed record OperationModel(
    ContractOperationKind Kind,
    string MethodName,
    string ReturnType,
    bool ReturnsValueTask,
    EquatableArray<ParameterModel> Parameters,
    EquatableArray<TemplateLevel> Levels,
    EquatableArray<TopicParameterModel> TopicParameters,
    PayloadModel? Payload,
    string? PayloadParameter,
    string? PropertiesParameter,
    string? CancellationParameter,
    int Qos,
    bool Retain,
    uint MessageExpirySeconds,
    string? ContentType,
    string? ResponseTopic,
    EquatableArray<UserPropertyModel> UserProperties,
    SubscribeModel? Subscribe,
    int? OfflinePolicy = null,
    string? MemberSuffix = null,
    RequestModel? Request = null)
{
    /// <summary>Names the generated fields of this operation: the method name, plus a suffix for an overload.</summary>
    public string MemberKey => MethodName + MemberSuffix;

    /// <summary>The topic template as declared, for example <c>home/{room}/temperature</c>.</summary>
    public string Template => string.Join("/", Levels.Select(l => l.Text));

    /// <summary>The topics it reaches, whatever its parameters are called: <c>home/+/temperature</c>.</summary>
    public string Filter => TopicTemplate.FilterOf(Levels);
}

/// <summary>A static user property.</summary>
internal sealed record UserPropertyModel(string Name, string Value);

/// <summary>What only subscribe methods have.</summary>
internal sealed record SubscribeModel(
    string Filter,
    string HandlerParameter,
    bool HandlerTakesContext,
    bool HandlerTakesCancellation,
    bool HandlerReturnsValueTask,
    bool ReturnsSubscription,
    bool NoLocal,
    bool RetainAsPublished,
    int RetainHandling,
    string? SharedGroup,
    int BufferCapacity,
    long MaxPayloadBytes = 0);

/// <summary>What only request methods have: the reply, the timeout and how the generated responder subscribes.</summary>
/// <param name="Reply">The reply payload.</param>
/// <param name="ReplyType">The reply type as declared (with '?' when nullable).</param>
/// <param name="TimeoutParameter">The per-call TimeSpan or TimeSpan? parameter, if any.</param>
/// <param name="TimeoutIsNullable">Whether that parameter is TimeSpan? (null then takes the operation's default).</param>
/// <param name="TimeoutSeconds">The operation's default timeout; 0 takes the connection's.</param>
/// <param name="SharedGroup">The responders' shared subscription group.</param>
/// <param name="MaxConcurrency">How many requests one responder handles at once.</param>
/// <param name="ServeName">The generated responder method, e.g. ServeRebootAsync.</param>
internal sealed record RequestModel(
    PayloadModel Reply,
    string ReplyType,
    string? TimeoutParameter,
    bool TimeoutIsNullable,
    int TimeoutSeconds,
    string? SharedGroup,
    int MaxConcurrency,
    string ServeName);
