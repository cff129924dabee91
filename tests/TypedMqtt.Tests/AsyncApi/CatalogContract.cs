using System.Text.Json.Serialization;

namespace TypedMqtt.Tests.AsyncApi;

// Payload types that use most of what System.Text.Json can express, so the generated schemas are checked against what
// the real serializer writes: a naming policy, a renamed member, an ignored one, enums as numbers, names and flags,
// nullable values under WhenWritingNull, dates, GUIDs, collections, a dictionary, bytes, polymorphism and recursion.
public enum Severity
{
    Low,
    High,
}

[JsonConverter(typeof(JsonStringEnumConverter<Mode>))]
public enum Mode
{
    Auto,
    Manual,
}

[Flags]
public enum Features
{
    None = 0,
    Heating = 1,
    Cooling = 2,
}

public sealed record Tag(string Name);

[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(Circle), "circle")]
[JsonDerivedType(typeof(Square), "square")]
public abstract record Shape;

public sealed record Circle(double Radius) : Shape;

public sealed record Square(double Side) : Shape;

public sealed record Node(string Name, Node? Next);

public sealed record Reading(
    [property: JsonPropertyName("v")] double Value,
    Severity Severity,
    Mode Mode,
    Features Features,
    int? SampleCount,
    string? Note,
    Guid Id,
    DateTimeOffset MeasuredAt,
    DateOnly Day,
    TimeSpan Took,
    Uri Source,
    IReadOnlyList<Tag> Tags,
    Dictionary<string, int> Counters,
    byte[] Blob,
    long Big,
    decimal Price,
    Shape Shape,
    Node Chain)
{
    [JsonIgnore]
    public string Hidden => "never written";

    public int TagCount => Tags.Count;
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Reading))]
internal sealed partial class CatalogJson : JsonSerializerContext;

[MqttContract(JsonContext = typeof(CatalogJson))]
public partial interface ICatalog
{
    [Publish("catalog/{site}/readings/{severity}", Qos = MqttQos.AtLeastOnce, Retain = true)]
    Task PublishReadingAsync(string site, Severity severity, Reading reading, CancellationToken cancellationToken = default);

    [Subscribe("catalog/{site}/readings/{severity}")]
    Task<IAsyncDisposable> OnReadingAsync(Func<string, Severity, Reading, CancellationToken, Task> handler, CancellationToken cancellationToken = default);

    [Publish("catalog/{site}/raw/{*path}")]
    Task PublishRawAsync(string site, string path, byte[] data, CancellationToken cancellationToken = default);
}
