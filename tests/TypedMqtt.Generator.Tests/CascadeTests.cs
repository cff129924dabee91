using Microsoft.CodeAnalysis;
using TypedMqtt.Generator.Diagnostics;

namespace TypedMqtt.Generator.Tests;

/// <summary>
/// One mistake, one diagnostic, with the right advice: each contract below once produced two or more diagnostics, some
/// with wrong advice. The whole compilation's generator diagnostics are checked, not only marked spans.
/// </summary>
public sealed class CascadeTests
{
    [Fact]
    public void Swapped_handler_arguments_give_one_diagnostic_with_the_right_order()
    {
        // Was: TMQ0007 (Reading cannot be a topic level) plus TMQ0011 ("add [JsonSerializable(typeof(string))]").
        var diagnostic = Single("""
            [MqttContract(JsonContext = typeof(ShapesJson))]
            public partial interface IHome
            {
                [Subscribe("home/{room}/reading")]
                Task<IAsyncDisposable> OnAsync(Func<Shapes.Reading, int, Task> handler);
            }
            """);
        Assert.Equal("TMQ0025", diagnostic.Id);
        Assert.Contains("it must take the topic values first, in template order, then the payload: (int room, Shapes.Reading payload)", diagnostic.GetMessage(), StringComparison.Ordinal);
        Assert.DoesNotContain("JsonSerializable", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_JsonContext_that_is_not_a_context_gives_one_diagnostic_not_one_per_payload()
    {
        // Was: TMQ0016 on the argument plus TMQ0015 ("declares no JsonContext") on every JSON payload.
        var diagnostic = Single("""
            [MqttContract(JsonContext = typeof(string))]
            public partial interface IHome
            {
                [Publish("home/{room}")]
                Task PublishAsync(string room, Reading reading);

                [Subscribe("home/{room}")]
                Task<IAsyncDisposable> OnAsync(Func<string, Reading, Task> handler);
            }
            """);
        Assert.Equal("TMQ0024", diagnostic.Id);
        Assert.Contains("'partial class HomeJson : JsonSerializerContext'", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_misnamed_topic_parameter_gives_one_diagnostic_that_names_the_candidates()
    {
        // Was: TMQ0004 plus TMQ0008 ("more than one parameter that is not in the topic template").
        var diagnostic = Single("""
            [MqttContract]
            public partial interface IHome
            {
                [Publish("home/{room}/temperature")]
                Task PublishAsync(string roomName, string reading);
            }
            """);
        Assert.Equal("TMQ0004", diagnostic.Id);
        Assert.Contains("rename the one of 'roomName', 'reading' that is the topic value to 'room'", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_codec_for_another_type_is_reported_at_the_Codec_argument()
    {
        // Was: at the payload parameter.
        var diagnostic = Single("""
            [MqttContract]
            public partial interface IHome
            {
                [Publish("home", Codec = typeof(PointCodec))]
                Task PublishAsync(string text);
            }
            """);
        Assert.Equal("TMQ0016", diagnostic.Id);
        Assert.Equal("Codec = typeof(PointCodec)", diagnostic.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan));
        Assert.Contains("it does not implement IMqttPayloadCodec<string>", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void Each_former_TMQ0009_setting_has_a_diagnostic_that_says_what_it_is()
    {
        var diagnostics = All("""
            [MqttContract]
            public partial interface IHome
            {
                [Publish("home", Qos = (MqttQos)3, OfflinePolicy = (MqttOfflinePolicy)9)]
                Task PublishAsync(string text);

                [Subscribe("b", BufferCapacity = 0, SharedGroup = "a/b")]
                Task<IAsyncDisposable> OnBAsync(Func<string, Task> handler);
            }
            """);
        Assert.Equal(["TMQ0009", "TMQ0020", "TMQ0021", "TMQ0022"], diagnostics.Select(d => d.Id).Order(StringComparer.Ordinal));
        Assert.All(diagnostics, d => Assert.DoesNotContain("option value", d.Descriptor.Title.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public void A_request_on_a_3_1_1_contract_gives_one_diagnostic_whatever_else_is_wrong_with_it()
    {
        var diagnostic = Single("""
            [MqttContract(ProtocolVersion = MqttVersion.V311)]
            public partial interface IHome
            {
                [Request("devices/{device}/reboot", Qos = (MqttQos)7)]
                Task RebootAsync(string device, string reason, string extra);
            }
            """);
        Assert.Equal("TMQ0018", diagnostic.Id);
    }

    [Fact]
    public void A_derived_contract_inherits_its_base_JsonContext_and_will()
    {
        // Was: TMQ0015 on the base's JSON payload, and no will on the derived client.
        var (_, diagnostics, sources) = GeneratorHarness.Run(GeneratorHarness.Compilation("""
            namespace Shapes;

            [MqttContract(JsonContext = typeof(ShapesJson))]
            [Will("devices/{clientId}/status", typeof(Status))]
            public partial interface IDeviceBase
            {
                [Publish("devices/{deviceId}/status")]
                Task PublishStatusAsync(string deviceId, Status status);
            }

            [MqttContract]
            public partial interface IDevice : IDeviceBase
            {
            }
            """));
        Assert.Empty(diagnostics);
        var device = sources.Single(s => s.HintName == "Shapes.DeviceClient.g.cs").SourceText.ToString();
        Assert.Contains("public Options Will(global::Shapes.Status payload)", device, StringComparison.Ordinal);
        Assert.Contains("global::Shapes.ShapesJson.Default", device, StringComparison.Ordinal);
    }

    private static Diagnostic Single(string contract) => Assert.Single(All(contract));

    private static List<Diagnostic> All(string contract)
    {
        var (_, diagnostics, _) = GeneratorHarness.Run(GeneratorHarness.Compilation("namespace Shapes;\n\n" + contract));
        return [.. diagnostics];
    }
}
