using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using TypedMqtt.Generator.Diagnostics;

namespace TypedMqtt.Generator.Tests;

/// <summary>
/// One or more markup tests per diagnostic. The markup {|TMQ0003:...|} marks the exact span the diagnostic must cover,
/// and the verifier fails on any diagnostic that is not marked.
/// </summary>
public sealed class DiagnosticTests
{
    [Fact]
    public Task ValidContractReportsNothing() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract(JsonContext = typeof(ShapesJson))]
        [Will("devices/{clientId}/status", typeof(Status), Qos = MqttQos.AtLeastOnce, Retain = true)]
        public partial interface IHome
        {
            [Publish("home/{room}/temperature", Qos = MqttQos.AtLeastOnce, Retain = true, MessageExpirySeconds = 600)]
            Task PublishTemperatureAsync(string room, Reading reading, CancellationToken cancellationToken = default);

            [Subscribe("home/{room}/temperature", Qos = MqttQos.AtLeastOnce)]
            Task<IAsyncDisposable> OnTemperatureAsync(Func<string, Reading, MqttMessageContext, CancellationToken, Task> handler, CancellationToken cancellationToken = default);
        }
        """);

    // ---- TMQ0001 contract not a top-level, non-generic partial interface: at the type's identifier

    [Fact]
    public Task TMQ0001_InterfaceNotPartial() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public interface {|TMQ0001:IHome|}
        {
        }
        """);

    [Fact]
    public Task TMQ0001_NestedInterface() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        public static partial class Outer
        {
            [MqttContract]
            public partial interface {|TMQ0001:IHome|}
            {
            }
        }
        """);

    [Fact]
    public Task TMQ0001_GenericInterface() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface {|TMQ0001:IHome|}<T>
        {
        }
        """);

    // ---- TMQ0002 publish topic with a wildcard: at the topic argument

    [Theory]
    [InlineData("home/+/temperature")]
    [InlineData("home/#")]
    [InlineData("home/a+b")]
    public Task TMQ0002_PublishTopicWithWildcard(string topic) => MarkupVerifier.VerifyAsync($$"""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Publish({|TMQ0002:"{{topic}}"|})]
            Task PublishAsync(string text);
        }
        """);

    // ---- TMQ0003 malformed topic or filter: at the topic argument, with the reason in the message

    public static TheoryData<string, string, string> MalformedTemplates => new()
    {
        { "Subscribe", "home/#/temperature", "topic filter 'home/#/temperature' has '#' at index 5 before the last level; '#' must be the last character of a filter" },
        { "Subscribe", "home/temp+", "topic filter 'home/temp+' has '+' at index 9 inside a level; '+' must occupy a whole level, as in 'a/+/b'" },
        { "Subscribe", "home/#x", "topic filter 'home/#x' has '#' at index 5 inside a level; '#' must occupy a whole level, as in 'a/#'" },
        { "Subscribe", "", "it is empty; a topic must have at least one character" },
        { "Publish", "", "it is empty; a topic must have at least one character" },
        { "Publish", "home/a\\0b", "topic 'home/a\\u0000b' contains U+0000 at index 6; MQTT forbids the null character in strings" },
        { "Subscribe", "home/\\0", "topic filter 'home/\\u0000' contains U+0000 at index 5; MQTT forbids the null character in strings" },
        { "Publish", "home/x{room}", "level 'x{room}' must be plain text or exactly one parameter such as '{room}' (a parameter is a whole level, named like a C# identifier)" },
        { "Subscribe", "home/{room}s", "level '{room}s' must be plain text or exactly one parameter such as '{room}' (a parameter is a whole level, named like a C# identifier)" },
        { "Publish", "home/{1room}", "level '{1room}' must be plain text or exactly one parameter such as '{room}' (a parameter is a whole level, named like a C# identifier)" },
        { "Subscribe", "logs/{*rest}/tail", "the catch-all '{*rest}' must be the last level" },
        { "Subscribe", "$share/g/home", "shared subscriptions are declared with SharedGroup = \"group\", not in the template" },
    };

    [Theory]
    [MemberData(nameof(MalformedTemplates))]
    public Task TMQ0003_MalformedTemplate(string attribute, string topic, string reason)
    {
        var method = attribute == "Publish"
            ? "Task PublishAsync(string text);"
            : "Task<IAsyncDisposable> OnAsync(Func<string, Task> handler);";
        var source = $$"""
            namespace Shapes;

            [MqttContract]
            public partial interface IHome
            {
                [{{attribute}}({|#0:"{{topic}}"|})]
                {{method}}
            }
            """;
        return MarkupVerifier.VerifyAsync(source, Expect(DiagnosticDescriptors.MalformedTopic, Unescape(topic), reason));
    }

    [Fact]
    public Task TMQ0003_MalformedPublishTemplateReportsNothingElse() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Publish({|TMQ0003:"home/x{room}/{*rest}"|})]
            Task PublishAsync(string room, string rest, string text);
        }
        """);

    [Fact]
    public Task TMQ0003_MalformedSubscribeTemplateReportsNothingElse() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Subscribe({|TMQ0003:"home/{room}s/{floor}"|})]
            Task<IAsyncDisposable> OnAsync(Func<string, int, string, Task> handler);
        }
        """);

    [Fact]
    public Task TMQ0003_TopicOver65535Utf8Bytes()
    {
        // 32,768 two-byte characters: 65,536 UTF-8 bytes plus the 'a/' prefix, one level, no parameters.
        var topic = "a/" + new string('é', 32_768);
        return MarkupVerifier.VerifyAsync(
            $$"""
            namespace Shapes;

            [MqttContract]
            public partial interface IHome
            {
                [Publish({|#0:"{{topic}}"|})]
                Task PublishAsync(string text);
            }
            """,
            Expect(DiagnosticDescriptors.MalformedTopic, topic, $"topic '{topic[..80]}...' is 65538 UTF-8 bytes long; MQTT strings are limited to 65535 bytes"));
    }

    [Fact]
    public Task TMQ0003_TopicOfExactly65535BytesIsFine()
    {
        var topic = "a/" + new string('b', 65_533);
        return MarkupVerifier.VerifyAsync($$"""
            namespace Shapes;

            [MqttContract]
            public partial interface IHome
            {
                [Publish("{{topic}}")]
                Task PublishAsync(string text);
            }
            """);
    }

    [Fact]
    public Task TMQ0003_InvalidResponseTopic() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Publish("requests", {|TMQ0003:ResponseTopic = "replies/+"|})]
            Task PublishAsync(string text);
        }
        """);

    // ---- TMQ0004 template parameter without a method parameter: at the topic argument

    [Fact]
    public Task TMQ0004_TemplateParameterNotBound() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Publish({|TMQ0004:"home/{room}/temperature"|})]
            Task PublishAsync(string text);
        }
        """);

    // ---- TMQ0005 method parameter neither in the template nor the payload: at the parameter

    [Fact]
    public Task TMQ0005_ParameterNotInTemplate() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Publish("home/{room}/temperature")]
            Task PublishAsync(string room, string {|TMQ0005:floor|}, [Payload] string text);
        }
        """);

    // ---- TMQ0006 duplicate template parameter: at the topic argument

    [Fact]
    public Task TMQ0006_DuplicateTemplateParameterInPublish() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Publish({|TMQ0006:"home/{room}/{room}"|})]
            Task PublishAsync(string room, string text);
        }
        """);

    [Fact]
    public Task TMQ0006_DuplicateTemplateParameterInSubscribe() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Subscribe({|TMQ0006:"home/{room}/{room}"|})]
            Task<IAsyncDisposable> OnAsync(Func<string, string, Task> handler);
        }
        """);

    // ---- TMQ0007 unsupported topic parameter type: at the method parameter (publish) or the handler (subscribe)

    [Fact]
    public Task TMQ0007_UnsupportedPublishParameterType() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Publish("home/{level}")]
            Task PublishAsync(double {|TMQ0007:level|}, string text);
        }
        """);

    [Fact]
    public Task TMQ0007_NullableTopicParameter() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Publish("home/{floor}")]
            Task PublishAsync(int? {|TMQ0007:floor|}, string text);
        }
        """);

    [Fact]
    public Task TMQ0007_CatchAllMustBeString() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Subscribe("counters/{*rest}")]
            Task<IAsyncDisposable> OnAsync(Func<int, string, Task> {|TMQ0007:handler|});
        }
        """);

    // ---- TMQ0017 [Flags] enum as a topic parameter: at the method parameter (publish) or the handler (subscribe)

    [Fact]
    public Task TMQ0017_FlagsEnumPublishParameter() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [System.Flags]
        public enum Features { None = 0, Heat = 1, Cool = 2 }

        [MqttContract]
        public partial interface IHome
        {
            [Publish("home/{features}")]
            Task PublishAsync(Features {|TMQ0017:features|}, string text);
        }
        """);

    [Fact]
    public Task TMQ0017_FlagsEnumSubscribeArgument() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [System.Flags]
        public enum Features { None = 0, Heat = 1, Cool = 2 }

        [MqttContract]
        public partial interface IHome
        {
            [Subscribe("home/{features}")]
            Task<IAsyncDisposable> OnAsync(Func<Features, string, Task> {|TMQ0017:handler|});
        }
        """);

    // ---- TMQ0008 more than one payload parameter: at the method identifier

    [Fact]
    public Task TMQ0008_MultiplePayloadParameters() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Publish("home/{room}")]
            Task {|TMQ0008:PublishAsync|}(string room, string text, string more);
        }
        """);

    // ---- TMQ0009 invalid QoS: at the named argument

    [Fact]
    public Task TMQ0009_InvalidQos() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Publish("home", {|TMQ0009:Qos = (MqttQos)3|})]
            Task PublishAsync(string text);
        }
        """);

    [Fact]
    public Task TMQ0009_InvalidWillAndRequestQos() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        [Will("status", typeof(string), {|TMQ0009:Qos = (MqttQos)(-1)|})]
        public partial interface IHome
        {
            [Request("ask", {|TMQ0009:Qos = (MqttQos)4|})]
            Task<string> AskAsync(string question);
        }
        """);

    // ---- TMQ0020 an enum option outside its members: at the named argument

    [Fact]
    public Task TMQ0020_UndefinedEnumValues() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract({|TMQ0020:ProtocolVersion = (MqttVersion)7|})]
        public partial interface IHome
        {
            [Publish("home", {|TMQ0020:OfflinePolicy = (MqttOfflinePolicy)9|})]
            Task PublishAsync(string text);

            [Subscribe("a", {|TMQ0020:RetainHandling = (MqttRetainHandling)3|})]
            Task<IAsyncDisposable> OnAAsync(Func<string, Task> handler);
        }
        """);

    // ---- TMQ0021 a count or size out of range: at the named argument

    [Fact]
    public Task TMQ0021_NumbersOutOfRange() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Subscribe("b", {|TMQ0021:BufferCapacity = 0|}, {|TMQ0021:MaxPayloadBytes = -1|})]
            Task<IAsyncDisposable> OnBAsync(Func<string, Task> handler);

            [Request("ask", {|TMQ0021:TimeoutSeconds = -5|}, {|TMQ0021:MaxConcurrency = 0|})]
            Task<string> AskAsync(string question);
        }
        """);

    // ---- TMQ0022 a shared group that cannot be a share name: at the named argument

    [Fact]
    public Task TMQ0022_InvalidSharedGroup() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Subscribe("c", {|TMQ0022:SharedGroup = "a/b"|})]
            Task<IAsyncDisposable> OnCAsync(Func<string, Task> handler);

            [Request("ask", {|TMQ0022:SharedGroup = "+"|})]
            Task<string> AskAsync(string question);
        }
        """);

    // ---- TMQ0023 a content type that cannot be sent: at the named argument

    [Fact]
    public Task TMQ0023_InvalidContentType() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Publish("home", {|TMQ0023:ContentType = "text/\0plain"|})]
            Task PublishAsync(string text);
        }
        """);

    // ---- TMQ0010 wrong method shape: at the method identifier (or the offending parameter)

    [Fact]
    public Task TMQ0010_PublishReturnType() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Publish("home")]
            int {|TMQ0010:PublishAsync|}(string text);
        }
        """);

    [Fact]
    public Task TMQ0010_SubscribeReturnType() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Subscribe("home")]
            Task {|TMQ0010:OnAsync|}(Func<string, Task> handler);
        }
        """);

    [Fact]
    public Task TMQ0010_MembersWithoutAttributesOrWithBoth() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            Task {|TMQ0010:PlainAsync|}(string text);

            [Publish("a")]
            [Subscribe("a")]
            Task<IAsyncDisposable> {|TMQ0010:BothAsync|}(Func<string, Task> handler);

            string {|TMQ0010:Name|} { get; }

            [Publish("g")]
            Task {|TMQ0010:GenericAsync|}<T>(string text);
        }
        """);

    [Fact]
    public Task TMQ0010_RefParameter() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Publish("home")]
            Task PublishAsync(in string {|TMQ0010:text|});
        }
        """);

    [Fact]
    public Task TMQ0010_HandlerShapes() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Subscribe("a")]
            Task<IAsyncDisposable> {|TMQ0010:NoHandlerAsync|}(CancellationToken cancellationToken = default);

            [Subscribe("b")]
            Task<IAsyncDisposable> VoidHandlerAsync(Action<string> {|TMQ0010:handler|});

            [Subscribe("c/{room}")]
            Task<IAsyncDisposable> MissingTopicValueAsync(Func<string, Task> {|TMQ0010:handler|});

            [Subscribe("d")]
            Task<IAsyncDisposable> ExtraParameterAsync(Func<string, Task> handler, int {|TMQ0010:extra|});
        }
        """);

    // ---- TMQ0011 payload type missing from the JSON context: at the payload parameter or the handler

    [Fact]
    public Task TMQ0011_PayloadTypeNotInJsonContext() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract(JsonContext = typeof(ShapesJson))]
        public partial interface IHome
        {
            [Publish("home")]
            Task PublishAsync(Unlisted {|TMQ0011:value|});

            [Subscribe("home")]
            Task<IAsyncDisposable> OnAsync(Func<Unlisted, Task> {|TMQ0011:handler|});
        }
        """);

    [Fact]
    public Task TMQ0011_WillPayloadNotInJsonContext() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract(JsonContext = typeof(ShapesJson))]
        [Will("status", {|TMQ0011:typeof(Unlisted)|})]
        public partial interface IHome
        {
        }
        """);

    // ---- TMQ0012 invalid will topic: at the will's topic argument

    [Theory]
    [InlineData("devices/+/status")]
    [InlineData("devices/{room}/status")]
    [InlineData("devices/{*clientId}")]
    [InlineData("")]
    public Task TMQ0012_InvalidWillTopic(string topic) => MarkupVerifier.VerifyAsync($$"""
        namespace Shapes;

        [MqttContract]
        [Will({|TMQ0012:"{{topic}}"|}, typeof(string))]
        public partial interface IHome
        {
        }
        """);

    // ---- TMQ0013 MQTT 5 feature on a contract pinned to 3.1.1: at the feature

    [Fact]
    public Task TMQ0013_Version5FeaturesOnV311Contract() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract(ProtocolVersion = MqttVersion.V311)]
        [Will("status", typeof(string), {|TMQ0013:DelaySeconds = 5|})]
        public partial interface IHome
        {
            [Publish("a", {|TMQ0013:MessageExpirySeconds = 60|})]
            Task PublishAAsync(string text);

            [Publish("b")]
            Task PublishBAsync(string text, MqttMessageProperties? {|TMQ0013:properties|} = null);

            [Publish("c")]
            [UserProperty("k", "v")]
            Task {|TMQ0013:PublishCAsync|}(string text);

            [Subscribe("d", {|TMQ0013:NoLocal = true|})]
            Task<IAsyncDisposable> OnDAsync(Func<string, Task> handler);

            [Subscribe("e", {|TMQ0013:SharedGroup = "workers"|})]
            Task<IAsyncDisposable> OnEAsync(Func<string, Task> handler);
        }
        """);

    [Fact]
    public Task TMQ0013_ContractUserPropertyOnV310Contract() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract(ProtocolVersion = MqttVersion.V310)]
        [UserProperty("k", "v")]
        public partial interface {|TMQ0013:IHome|}
        {
        }
        """);

    // ---- TMQ0014 overlapping filters (warning): at the second method

    [Fact]
    public Task TMQ0014_OverlappingFilters() => MarkupVerifier.VerifyAsync(
        """
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Subscribe("home/{room}/temperature")]
            Task<IAsyncDisposable> OnTemperatureAsync(Func<string, string, Task> handler);

            [Subscribe("home/kitchen/{*rest}")]
            Task<IAsyncDisposable> {|#0:OnKitchenAsync|}(Func<string, string, Task> handler);

            [Subscribe("garden/{area}", SharedGroup = "workers")]
            Task<IAsyncDisposable> OnGardenSharedAsync(Func<string, string, Task> handler);

            [Subscribe("garden/{area}")]
            Task<IAsyncDisposable> {|#1:OnGardenAsync|}(Func<string, string, Task> handler);
        }
        """,
        Expect(DiagnosticDescriptors.OverlappingFilters, "home/kitchen/#", "OnKitchenAsync", "home/+/temperature", "OnTemperatureAsync", "home/kitchen/temperature"),
        new DiagnosticResult(DiagnosticDescriptors.PlainAndSharedOverlap).WithLocation(1).WithArguments("garden/+", "OnGardenAsync", "garden/+", "OnGardenSharedAsync", "workers", "garden/x"));

    // ---- TMQ0015 JSON payload without a JSON context: at the payload parameter, handler or will type

    [Fact]
    public Task TMQ0015_MissingJsonContext() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        [Will("status", {|TMQ0015:typeof(Status)|})]
        public partial interface IHome
        {
            [Publish("home")]
            Task PublishAsync(Reading {|TMQ0015:reading|});

            [Subscribe("home")]
            Task<IAsyncDisposable> OnAsync(Func<Reading, Task> {|TMQ0015:handler|});
        }
        """);

    // ---- TMQ0016 invalid codec: at the Codec (or ReplyCodec) argument

    [Fact]
    public Task TMQ0016_CodecForAnotherType() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Publish("home", {|TMQ0016:Codec = typeof(PointCodec)|})]
            Task PublishAsync(string text);

            [Request("ask", {|TMQ0016:ReplyCodec = typeof(PointCodec)|})]
            Task<string> AskAsync(string question);
        }
        """);

    [Fact]
    public Task TMQ0016_CodecWithoutParameterlessConstructor() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        public sealed class NeedsArgumentCodec : IMqttPayloadCodec<Point>
        {
            public NeedsArgumentCodec(int size) => Size = size;

            public int Size { get; }

            public string? ContentType => null;

            public MqttPayloadFormat PayloadFormat => MqttPayloadFormat.Unspecified;

            public void Encode(Point value, IBufferWriter<byte> writer) { }

            public Point Decode(ReadOnlySequence<byte> payload) => default;
        }

        [MqttContract]
        public partial interface IHome
        {
            [Subscribe("home", {|TMQ0016:Codec = typeof(NeedsArgumentCodec)|})]
            Task<IAsyncDisposable> OnAsync(Func<Point, Task> handler);
        }
        """);

    // ---- TMQ0024 a JsonContext that is not a JsonSerializerContext: at the JsonContext argument, and nothing about JSON payloads

    [Fact]
    public Task TMQ0024_JsonContextNotAContext() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract({|TMQ0024:JsonContext = typeof(string)|})]
        public partial interface IHome
        {
            [Publish("home/{room}")]
            Task PublishAsync(string room, Reading reading);
        }
        """);

    [Fact]
    public void EveryDescriptorHasAMarkupTest()
    {
        var tested = typeof(DiagnosticTests).GetMethods()
            .Select(m => m.Name)
            .Where(n => n.StartsWith("TMQ", StringComparison.Ordinal))
            .Select(n => n[..7])
            .ToHashSet(StringComparer.Ordinal);
        var untested = DiagnosticDescriptors.AllDescriptors.Select(d => d.Id).Where(id => !tested.Contains(id)).ToList();
        Assert.Empty(untested);
        Assert.Equal(29, DiagnosticDescriptors.AllDescriptors.Count());
    }

    private static DiagnosticResult Expect(DiagnosticDescriptor descriptor, params object[] arguments) =>
        new DiagnosticResult(descriptor).WithLocation(0).WithArguments(arguments);

    private static string Unescape(string csharpLiteralBody) => csharpLiteralBody.Replace("\\0", "\0", StringComparison.Ordinal);

    // ---- TMQ0018 request/response on a contract pinned to 3.1.1: at the [Request] attribute, and nothing else about it

    [Fact]
    public Task TMQ0018_RequestOnV311Contract() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract(ProtocolVersion = MqttVersion.V311)]
        public partial interface IHome
        {
            [{|TMQ0018:Request("devices/{device}/reboot")|}]
            Task<string> RebootAsync(string device, string reason, CancellationToken cancellationToken = default);
        }
        """);

    [Fact]
    public Task TMQ0018_RequestOnV310ContractWithOtherwiseBadShape() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract(ProtocolVersion = MqttVersion.V310)]
        public partial interface IHome
        {
            [{|TMQ0018:Request("devices/{device}/reboot", Qos = (MqttQos)7)|}]
            Task RebootAsync(string device, string reason, string extra);
        }
        """);

    // ---- TMQ0019 a generated member's name is taken: at the request method

    [Fact]
    public Task TMQ0019_ResponderNameTaken() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Request("devices/{device}/reboot")]
            Task<string> {|TMQ0019:RebootAsync|}(string device, string reason);

            [Publish("devices/{device}/serve")]
            Task ServeRebootAsync(string device, string text);
        }
        """);

    // ---- [Request] shapes refused with TMQ0010

    [Fact]
    public Task TMQ0010_RequestWithoutReply() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Request("devices/{device}/reboot")]
            Task {|TMQ0010:RebootAsync|}(string device, string reason);
        }
        """);

    [Fact]
    public Task TMQ0010_RequestAndPublishOnOneMethod() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Request("devices/{device}/reboot")]
            [Publish("devices/{device}/reboot")]
            Task<string> {|TMQ0010:RebootAsync|}(string device, string reason);
        }
        """);

    // ---- TMQ0025 handler arguments out of order: at the handler, one diagnostic

    [Fact]
    public Task TMQ0025_PayloadBeforeTopicValue() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract(JsonContext = typeof(ShapesJson))]
        public partial interface IHome
        {
            [Subscribe("home/{room}/reading")]
            Task<IAsyncDisposable> OnAsync(Func<Reading, string, Task> {|TMQ0025:handler|});
        }
        """);

    // ---- TMQ0026 base contracts disagree on an inherited setting: at the derived contract

    [Fact]
    public Task TMQ0026_BasesWithDifferentProtocolVersions() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract(ProtocolVersion = MqttVersion.V311)]
        public partial interface IFirst
        {
        }

        [MqttContract(ProtocolVersion = MqttVersion.V500)]
        public partial interface ISecond
        {
        }

        [MqttContract]
        public partial interface {|TMQ0026:IBoth|} : IFirst, ISecond
        {
        }
        """);

    // ---- TMQ0027 two publish operations on the same topics (warning): at the second

    [Fact]
    public Task TMQ0027_DuplicatePublishTemplate() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Publish("home/{room}/temperature")]
            Task PublishTemperatureAsync(string room, string value);

            [Publish("home/{zone}/temperature")]
            Task {|TMQ0027:PublishZoneTemperatureAsync|}(string zone, string value);

            [Publish("home/{room}/humidity")]
            Task PublishHumidityAsync(string room, string value);
        }
        """);

    // ---- TMQ0028 a plain and a shared subscription overlap (warning): at the second

    [Fact]
    public Task TMQ0028_PlainAndSharedOverlap() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IHome
        {
            [Subscribe("jobs/{id}")]
            Task<IAsyncDisposable> OnJobAsync(Func<int, string, Task> handler);

            [Subscribe("jobs/+", SharedGroup = "workers")]
            Task<IAsyncDisposable> {|TMQ0028:OnSharedJobAsync|}(Func<string, Task> handler);

            [Subscribe("other/{id}", SharedGroup = "a")]
            Task<IAsyncDisposable> OnOtherAAsync(Func<int, string, Task> handler);

            [Subscribe("other/{id}", SharedGroup = "b")]
            Task<IAsyncDisposable> OnOtherBAsync(Func<int, string, Task> handler);
        }
        """);

    // ---- TMQ0029 [MqttFake] cannot generate a fake: at the class

    [Fact]
    public Task TMQ0029_FakeClassNotPartial() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IPings
        {
            [Publish("ping")]
            Task PingAsync();
        }

        [TypedMqtt.Testing.MqttFake(typeof(IPings))]
        public class {|TMQ0029:FakePings|};
        """);

    [Fact]
    public Task TMQ0029_FakeOfATypeThatIsNotAContract() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        public interface IPlain
        {
            Task PingAsync();
        }

        [TypedMqtt.Testing.MqttFake(typeof(IPlain))]
        public partial class {|TMQ0029:FakePlain|};
        """);

    [Fact]
    public Task TMQ0029_FakeOfAContractWithErrors() => MarkupVerifier.VerifyAsync("""
        namespace Shapes;

        [MqttContract]
        public partial interface IBroken
        {
            [Publish({|TMQ0004:"devices/{id}/ping"|})]
            Task PingAsync();
        }

        [TypedMqtt.Testing.MqttFake(typeof(IBroken))]
        public partial class {|TMQ0029:FakeBroken|};
        """);
}
