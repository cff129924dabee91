using Consumer;
using TypedMqtt;

// Native AOT: the generated client, its JSON payloads and request/response against a real broker, with no reflection.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: AotConsumer <broker address>, e.g. mqtt://127.0.0.1:1883");
    return 2;
}

await using var client = await SensorClient.ConnectAsync(args[0]);
var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
await using var subscription = await client.OnReadingAsync((sensorId, reading, context, _) =>
{
    received.TrySetResult($"{sensorId}:{reading.Value}:{context.Qos}");
    return Task.CompletedTask;
});
await client.PublishReadingAsync(42, new Reading(1.5));
Console.WriteLine("received " + await received.Task.WaitAsync(TimeSpan.FromSeconds(10)));

await using var responder = await client.ServeCalibrateAsync((sensorId, request, _) => Task.FromResult(new Reading(sensorId + request.Value)));
var reply = await client.CalibrateAsync(7, new Reading(0.5));
Console.WriteLine("reply " + reply.Value);
Console.WriteLine("native " + !System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported);
return 0;
