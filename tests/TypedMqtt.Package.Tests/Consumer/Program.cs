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
