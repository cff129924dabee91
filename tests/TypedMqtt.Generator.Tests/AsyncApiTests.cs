using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using TypedMqtt.Generator.AsyncApi;

namespace TypedMqtt.Generator.Tests;

/// <summary>
/// The AsyncAPI document the generator builds: member names as System.Text.Json writes them, a snapshot of the document
/// for the contract shapes, the opt-out and what happens with no contract. (Validation with the official parser and
/// payloads written by the real serializer are in TypedMqtt.Tests/AsyncApi.)
/// </summary>
public sealed class AsyncApiTests
{
    private static readonly string[] AwkwardNames =
        ["Celsius", "MeasuredAt", "ID", "URLValue", "IOStream", "Item1Name", "Item1", "X", "x", "already_snake", "HTTPServer2Go", "ABC", "Value2D", "SKU", "Already_Snake", "A B", "Abc$Def", "_Leading", "ÄbcDef", "Ab1Cd", "aBC"];

    public static TheoryData<string> Policies => new() { "CamelCase", "SnakeCaseLower", "SnakeCaseUpper", "KebabCaseLower", "KebabCaseUpper" };

    [Theory]
    [MemberData(nameof(Policies))]
    public void Member_names_match_System_Text_Json_naming_policies(string policy)
    {
        var real = (JsonNamingPolicy)typeof(JsonNamingPolicy).GetProperty(policy)!.GetValue(null)!;
        var ours = Enum.Parse<NamingPolicy>(policy);
        foreach (var name in AwkwardNames)
        {
            Assert.Equal(real.ConvertName(name), JsonNames.Apply(ours, name));
        }
    }

    /// <summary>One document over the shapes that cover the parts: typed and catch-all parameters, payload kinds, requests and a will.</summary>
    [Fact]
    public void Document_matches_snapshot()
    {
        var sources = new[] { "TypedTopicParameters", "CatchAll", "PayloadKinds", "Requests", "Will", "MessageProperties" }.Select(s => ContractShapes.All[s]).ToArray();
        var (_, diagnostics, generated) = GeneratorHarness.Run(GeneratorHarness.Compilation(sources), asyncApi: true);
        Assert.Empty(diagnostics);
        var document = Assert.Single(generated, s => s.HintName == "TypedMqtt.AsyncApiDocument.g.cs").SourceText.ToString();
        var start = document.IndexOf("@\"", StringComparison.Ordinal) + 2;
        var json = document[start..document.LastIndexOf("\";", StringComparison.Ordinal)].Replace("\"\"", "\"", StringComparison.Ordinal);
        using var parsed = JsonDocument.Parse(json);
        Assert.Equal("3.0.0", parsed.RootElement.GetProperty("asyncapi").GetString());

        var path = SnapshotPath();
        if (Environment.GetEnvironmentVariable("TYPEDMQTT_UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(path, json, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            return;
        }

        Assert.True(File.Exists(path), $"No snapshot at {path}; run the tests with TYPEDMQTT_UPDATE_SNAPSHOTS=1 to create it.");
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), json);
    }

    [Fact]
    public void Setting_TypedMqttAsyncApi_to_false_leaves_the_document_out()
    {
        var compilation = GeneratorHarness.Compilation(ContractShapes.All["Requests"]);
        Assert.Contains(GeneratorHarness.Run(compilation, asyncApi: true).Sources, s => s.HintName == "TypedMqtt.AsyncApiDocument.g.cs");
        Assert.DoesNotContain(GeneratorHarness.Run(compilation, asyncApi: false).Sources, s => s.HintName == "TypedMqtt.AsyncApiDocument.g.cs");
    }

    [Fact]
    public void An_assembly_without_contracts_has_no_document()
    {
        var (_, _, generated) = GeneratorHarness.Run(GeneratorHarness.Compilation("namespace Empty; public static class Nothing { }"), asyncApi: true);
        Assert.Empty(generated);
    }

    private static string SnapshotPath([CallerFilePath] string thisFile = "") =>
        Path.Combine(Path.GetDirectoryName(thisFile)!, "Snapshots", "AsyncApi.json");
}
