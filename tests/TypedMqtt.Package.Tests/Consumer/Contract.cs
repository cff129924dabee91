using System.Text.Json.Serialization;
using TypedMqtt;

// The contract both consumers (Consumer, and AotConsumer published as native code) build from the package.
namespace Consumer;

public sealed record Reading(double Value);

[JsonSerializable(typeof(Reading))]
internal sealed partial class ConsumerJson : JsonSerializerContext;

[MqttContract(JsonContext = typeof(ConsumerJson))]
public partial interface ISensor
{
    [Publish("sensors/{sensorId}/reading", Qos = MqttQos.AtLeastOnce)]
    Task PublishReadingAsync(int sensorId, Reading reading, CancellationToken cancellationToken = default);

    [Subscribe("sensors/{sensorId}/reading", Qos = MqttQos.AtLeastOnce)]
    Task<IAsyncDisposable> OnReadingAsync(Func<int, Reading, MqttMessageContext, CancellationToken, Task> handler, CancellationToken cancellationToken = default);

    [Request("sensors/{sensorId}/calibrate", TimeoutSeconds = 10)]
    Task<Reading> CalibrateAsync(int sensorId, Reading offset, CancellationToken cancellationToken = default);
}
