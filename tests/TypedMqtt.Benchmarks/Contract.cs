using System.Text.Json.Serialization;

namespace TypedMqtt.Benchmarks;

/// <summary>The benchmark payload: serialized it is exactly 99 bytes of JSON (checked at start-up).</summary>
public sealed record Reading(string DeviceId, double Celsius, double Humidity, long Sequence, DateTimeOffset At)
{
    public static Reading Sample { get; } = new("d-01", 21.5, 40.5, 1234, new DateTimeOffset(2025, 1, 1, 12, 0, 0, TimeSpan.Zero));
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Reading))]
public sealed partial class BenchJson : JsonSerializerContext;

/// <summary>QoS 0: one topic parameter, one JSON payload; the generator writes <c>BenchQos0Client</c>.</summary>
[MqttContract(JsonContext = typeof(BenchJson))]
public partial interface IBenchQos0
{
    [Publish("bench/{device}/reading")]
    Task PublishAsync(string device, Reading reading, CancellationToken cancellationToken = default);

    [Subscribe("bench/{device}/reading")]
    Task<IAsyncDisposable> OnReadingAsync(Func<string, Reading, Task> handler, CancellationToken cancellationToken = default);
}

/// <summary>The same at QoS 1; the generator writes <c>BenchQos1Client</c>.</summary>
[MqttContract(JsonContext = typeof(BenchJson))]
public partial interface IBenchQos1
{
    [Publish("bench/{device}/reading", Qos = MqttQos.AtLeastOnce)]
    Task PublishAsync(string device, Reading reading, CancellationToken cancellationToken = default);

    [Subscribe("bench/{device}/reading", Qos = MqttQos.AtLeastOnce)]
    Task<IAsyncDisposable> OnReadingAsync(Func<string, Reading, Task> handler, CancellationToken cancellationToken = default);
}
