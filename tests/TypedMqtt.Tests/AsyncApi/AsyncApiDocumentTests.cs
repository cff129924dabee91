using System.Text.Json;
using TypedMqtt.Generated;

namespace TypedMqtt.Tests.AsyncApi;

/// <summary>
/// The generated AsyncAPI 3.0 documents: the build writes them next to each assembly, the official parser accepts them
/// with no error or warning, and payloads that System.Text.Json really writes match their schemas.
/// </summary>
public sealed class AsyncApiDocumentTests
{
    private const string ReadingSchema = "/components/schemas/TypedMqtt.Tests.AsyncApi.Reading";

    private static readonly Reading FullReading = new(
        21.5, Severity.High, Mode.Manual, Features.Heating | Features.Cooling, 3, "calibrated", Guid.NewGuid(),
        new DateTimeOffset(2026, 12, 3, 16, 0, 0, TimeSpan.FromHours(1)), new DateOnly(2026, 12, 3), TimeSpan.FromMilliseconds(1500),
        new Uri("sensors/7", UriKind.Relative), [new Tag("kitchen"), new Tag("north")], new() { ["a"] = 1, ["b"] = 2 },
        [1, 2, 3], long.MaxValue, 12.34m, new Circle(2), new Node("first", new Node("second", null)));

    [Fact]
    public void The_build_writes_the_document_next_to_the_assembly()
    {
        var written = Path.Combine(AppContext.BaseDirectory, "TypedMqtt.Tests.asyncapi.json");
        Assert.True(File.Exists(written), $"{written} was not written by the build (runtime/build/TypedMqtt.targets)");
        Assert.Equal(AsyncApiDocument.Json, File.ReadAllText(written));
        foreach (var example in new[] { "Quickstart", "DeviceFleet", "Worker" })
        {
            var path = ExampleDocument(example);
            Assert.True(File.Exists(path), $"{path} was not written by the build");
        }
    }

    [Fact]
    public void Schemas_follow_the_serializer_context_options()
    {
        using var document = JsonDocument.Parse(AsyncApiDocument.Json);
        var reading = document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("TypedMqtt.Tests.AsyncApi.Reading");

        // Exactly the members System.Text.Json writes for a full value, under the context's snake_case policy.
        using var written = JsonDocument.Parse(JsonSerializer.Serialize(FullReading, CatalogJson.Default.Reading));
        var writtenNames = written.RootElement.EnumerateObject().Select(p => p.Name).Order().ToList();
        var schemaNames = reading.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order().ToList();
        Assert.Equal(writtenNames, schemaNames);
        Assert.Contains("v", schemaNames);
        Assert.Contains("tag_count", schemaNames);
        Assert.DoesNotContain("hidden", schemaNames);

        // WhenWritingNull: nullable members may be left out, the rest are always written.
        var required = reading.GetProperty("required").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("severity", required);
        Assert.DoesNotContain("sample_count", required);
        Assert.DoesNotContain("note", required);

        var properties = reading.GetProperty("properties");
        Assert.Equal("[0,1]", properties.GetProperty("severity").GetProperty("enum").Compact());
        Assert.Equal("[\"Auto\",\"Manual\"]", properties.GetProperty("mode").GetProperty("enum").Compact());
        Assert.Equal("date-time", properties.GetProperty("measured_at").GetProperty("format").GetString());
        Assert.Equal("base64", properties.GetProperty("blob").GetProperty("contentEncoding").GetString());
        Assert.Equal("[\"integer\",\"null\"]", properties.GetProperty("sample_count").GetProperty("type").Compact());

        var shape = document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("TypedMqtt.Tests.AsyncApi.Shape");
        var kinds = shape.GetProperty("anyOf").EnumerateArray().Select(v => v.GetProperty("properties").GetProperty("kind").GetProperty("const").GetString()).ToList();
        Assert.Equal(["circle", "square"], kinds);

        var channel = document.RootElement.GetProperty("channels").GetProperty("catalog.site.readings.severity");
        Assert.Equal("catalog/{site}/readings/{severity}", channel.GetProperty("address").GetString());
        Assert.Equal("[\"Low\",\"High\"]", channel.GetProperty("parameters").GetProperty("severity").GetProperty("enum").Compact());
        var publish = document.RootElement.GetProperty("operations").GetProperty("ICatalog.PublishReading");
        Assert.Equal("send", publish.GetProperty("action").GetString());
        Assert.Equal(1, publish.GetProperty("bindings").GetProperty("mqtt").GetProperty("qos").GetInt32());
        Assert.True(publish.GetProperty("bindings").GetProperty("mqtt").GetProperty("retain").GetBoolean());
        Assert.Equal("receive", document.RootElement.GetProperty("operations").GetProperty("ICatalog.OnReading").GetProperty("action").GetString());
    }

    [AsyncApiFact]
    public async Task Payloads_written_by_System_Text_Json_match_their_schemas()
    {
        var sparse = FullReading with { SampleCount = null, Note = null, Shape = new Square(1.5), Chain = new Node("only", null), Tags = [], Counters = [] };
        var samples = new[] { FullReading, sparse }
            .Select(r => JsonSerializer.Serialize(r, CatalogJson.Default.Reading))
            .SelectMany(json => new[]
            {
                new AsyncApiValidator.Sample(ReadingSchema, json),
                new AsyncApiValidator.Sample("/channels/catalog.site.readings.severity/messages/Reading/payload", json),
            });
        var (exitCode, output) = await AsyncApiValidator.ValidateTextAsync(AsyncApiDocument.Json, samples);
        Assert.True(exitCode == 0, output);
        Assert.Equal(4, output.Split('\n').Count(l => l.StartsWith("sample ok", StringComparison.Ordinal)));
    }

    [AsyncApiFact]
    public async Task A_payload_that_breaks_its_schema_is_reported()
    {
        var json = JsonSerializer.Serialize(FullReading, CatalogJson.Default.Reading).Replace("\"v\":21.5", "\"v\":\"warm\"", StringComparison.Ordinal);
        Assert.Contains("\"v\":\"warm\"", json);
        var (exitCode, output) = await AsyncApiValidator.ValidateTextAsync(AsyncApiDocument.Json, [new AsyncApiValidator.Sample(ReadingSchema, json)]);
        Assert.Equal(1, exitCode);
        Assert.Contains("does not match", output);
    }

    [AsyncApiFact]
    public async Task An_invalid_document_is_reported()
    {
        var (exitCode, output) = await AsyncApiValidator.ValidateTextAsync(AsyncApiDocument.Json.Replace("\"qos\": 1", "\"qos\": 3", StringComparison.Ordinal));
        Assert.Equal(1, exitCode);
        Assert.Contains("qos", output);
    }

    /// <summary>Every contract shape in this test assembly (custom codecs, bytes, requests, wills, overloads) in one document.</summary>
    [AsyncApiFact]
    public async Task The_test_assemblys_document_has_no_error_or_warning()
    {
        var (exitCode, output) = await AsyncApiValidator.ValidateTextAsync(AsyncApiDocument.Json);
        Assert.True(exitCode == 0, output);
    }

    [AsyncApiFact]
    public async Task The_Quickstart_document_validates_and_its_payloads_match()
    {
        var (exitCode, output) = await AsyncApiValidator.ValidateAsync(ExampleDocument("Quickstart"),
        [
            new("/components/schemas/Quickstart.Temperature", """{"Celsius":21.5,"MeasuredAt":"2026-12-03T16:00:00+01:00"}"""),
            new("/components/schemas/Quickstart.DeviceStatus", """{"Online":false,"Reason":null}"""),
            new("/channels/home.room.thermostat.set.reply/messages/SetPointResult/payload", """{"Room":"kitchen","Celsius":22.5,"EffectiveAt":"2026-12-03T16:00:00+00:00"}"""),
            new("/channels/home.room.commands.name/messages/Text/payload", "\"on\""),
        ]);
        Assert.True(exitCode == 0, output);
    }

    [AsyncApiFact]
    public async Task The_DeviceFleet_document_validates_and_its_payloads_match()
    {
        var (exitCode, output) = await AsyncApiValidator.ValidateAsync(ExampleDocument("DeviceFleet"),
        [
            new("/components/schemas/DeviceFleet.Telemetry", """{"Temperature":21.5,"Battery":0.93,"At":"2026-12-03T16:00:00Z"}"""),
            new("/components/schemas/DeviceFleet.DeviceState", """{"Online":true,"Reason":"booted"}"""),
        ]);
        Assert.True(exitCode == 0, output);
    }

    [AsyncApiFact]
    public async Task The_Worker_document_validates()
    {
        var (exitCode, output) = await AsyncApiValidator.ValidateAsync(ExampleDocument("Worker"));
        Assert.True(exitCode == 0, output);
    }

    private static string ExampleDocument(string name) =>
        Path.Combine(AsyncApiValidator.Root, "examples", name, "bin", AsyncApiValidator.Configuration, "net10.0", name + ".asyncapi.json");
}

internal static class JsonElementExtensions
{
    /// <summary>The element as compact JSON, whatever the document's layout.</summary>
    public static string Compact(this JsonElement element) => JsonSerializer.Serialize(element);
}
