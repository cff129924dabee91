using System.Text.Json.Serialization;
using Consumer;
using TypedMqtt;

// A consumer that knows TypedMqtt only through its NuGet package: the generator must come from analyzers/dotnet/cs.
await using var broker = await EmbeddedMqttBroker.StartAsync();
await using var client = await SensorClient.ConnectAsync(broker.Address, o => o.WithCodecContentType());
var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
await using var subscription = await client.OnReadingAsync((sensorId, reading, context, _) =>
{
    received.TrySetResult($"{sensorId}:{reading.Value}:{context.ContentType}");
    return Task.CompletedTask;
});
await client.PublishReadingAsync(42, new Reading(1.5));
Console.WriteLine("received " + await received.Task.WaitAsync(TimeSpan.FromSeconds(10)));

// Request/response from the package: the generated requester and its generated responder.
await using var responder = await client.ServeCalibrateAsync((sensorId, request, _) => Task.FromResult(new Reading(sensorId + request.Value)));
var reply = await client.CalibrateAsync(7, new Reading(0.5));
Console.WriteLine("reply " + reply.Value);
return 0;

namespace Consumer
{
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
}
