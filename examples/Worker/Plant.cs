using System.Text.Json.Serialization;
using TypedMqtt;

namespace Worker;

/// <summary>A temperature reading of a production line.</summary>
public sealed record Reading(double Celsius, DateTimeOffset MeasuredAt);

[JsonSerializable(typeof(Reading))]
internal sealed partial class PlantJson : JsonSerializerContext;

/// <summary>The worker's MQTT traffic; the generator writes <c>PlantClient</c>.</summary>
[MqttContract(JsonContext = typeof(PlantJson))]
public partial interface IPlant
{
    [Publish("plant/{line}/temperature", Qos = MqttQos.AtLeastOnce)]
    Task PublishReadingAsync(string line, Reading reading, CancellationToken cancellationToken = default);

    [Subscribe("plant/{line}/temperature", Qos = MqttQos.AtLeastOnce)]
    Task<IAsyncDisposable> OnReadingAsync(Func<string, Reading, CancellationToken, Task> handler, CancellationToken cancellationToken = default);
}
