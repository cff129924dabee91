using System.Collections.Concurrent;
using DeviceFleet;
using TypedMqtt;

// A small device fleet: three devices send telemetry; the back end watches telemetry and status and sends commands.
// One device is offline when its command is sent and gets it on reconnect (persistent session); one crashes and its
// will marks it offline. Runs on an embedded broker, or on any broker with --broker <address>.
var timeout = TimeSpan.FromSeconds(10);
var brokerAddress = args.Length >= 2 && args[0] == "--broker" ? args[1] : null;
await using var embedded = brokerAddress is null ? await EmbeddedMqttBroker.StartAsync() : null;
var address = brokerAddress ?? embedded!.Address;
var run = Guid.NewGuid().ToString("N")[..6];
string[] deviceIds = [$"pump-{run}", $"valve-{run}", $"meter-{run}"];

await using var backend = await FleetBackendClient.ConnectAsync(address);
var telemetry = new ConcurrentDictionary<string, int>();
var states = new ConcurrentDictionary<string, DeviceState>();
await using var telemetrySubscription = await backend.OnTelemetryAsync((id, reading, _) =>
{
    telemetry.AddOrUpdate(id, 1, (_, n) => n + 1);
    return Task.CompletedTask;
});
await using var stateSubscription = await backend.OnStateAsync((id, state, _, _) =>
{
    states[id] = state;
    Console.WriteLine($"backend  <- {id} is {(state.Online ? "online" : "offline")} ({state.Reason})");
    return Task.CompletedTask;
});

// Devices connect with their id as client id and a persistent session (clean start off, 1 h expiry).
var devices = new Dictionary<string, DeviceClient>();
var commands = new ConcurrentDictionary<string, TaskCompletionSource<string>>();
foreach (var id in deviceIds)
{
    devices[id] = await ConnectDeviceAsync(id);
}

foreach (var id in deviceIds)
{
    for (var i = 0; i < 3; i++)
    {
        await devices[id].SendTelemetryAsync(id, new Telemetry(20 + i, 0.9 - (i * 0.1), DateTimeOffset.UtcNow));
    }
}

await WaitUntilAsync(() => deviceIds.All(id => telemetry.GetValueOrDefault(id) == 3), "telemetry from every device");
Console.WriteLine($"backend  <- telemetry: {string.Join(", ", deviceIds.Select(id => $"{id}={telemetry[id]}"))}");

// The valve goes offline normally; its session (and subscription) stays on the broker.
var valve = deviceIds[1];
await devices[valve].ReportStateAsync(valve, new DeviceState(false, "maintenance"));
await devices[valve].DisposeAsync();
await backend.SendCommandAsync(valve, "calibrate", new Command("zero", DateTimeOffset.UtcNow));
Console.WriteLine($"backend  -> calibrate to {valve} while it is offline");
devices[valve] = await ConnectDeviceAsync(valve);
Console.WriteLine($"device   <- {await commands[valve].Task.WaitAsync(timeout)} (session present: {devices[valve].Connection.ConnectResult.IsSessionPresent})");

// The meter crashes: no DISCONNECT, so the broker publishes its will.
var meter = deviceIds[2];
await devices[meter].Connection.AbortAsync();
await WaitUntilAsync(() => states.TryGetValue(meter, out var s) && !s.Online, "the meter's will");

foreach (var device in devices.Values)
{
    await device.DisposeAsync();
}

// Clean up what this run left on the broker: retained states and persistent sessions.
foreach (var id in deviceIds)
{
    await backend.Connection.PublishAsync($"fleet/{id}/status", ReadOnlyMemory<byte>.Empty, MqttQos.AtLeastOnce, retain: true);
    await using var cleanup = await MqttConnection.ConnectAsync($"{address}?clientId={id}&cleanStart=true");
}

Console.WriteLine("fleet run complete");
return 0;

async Task<DeviceClient> ConnectDeviceAsync(string id)
{
    var device = await DeviceClient.ConnectAsync(address, o =>
    {
        o.WithClientId(id).WithCleanStart(false).WithSessionExpiry(3600).WithKeepAlive(TimeSpan.FromSeconds(30));
        o.Will(new DeviceState(false, "connection lost"));
    });
    var received = commands.AddOrUpdate(id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously), (_, _) => new(TaskCreationOptions.RunContinuationsAsynchronously));
    // With a resumed session the broker already holds this subscription and may deliver queued commands right after
    // CONNACK; the connection keeps them until this handler is declared, so nothing queued is lost.
    await device.OnCommandAsync((target, name, command, _, _) =>
    {
        if (target == id)
        {
            commands[id].TrySetResult($"{id} got {name}({command.Argument})");
        }

        return Task.CompletedTask;
    });

    await device.ReportStateAsync(id, new DeviceState(true, "started"));
    return device;
}

async Task WaitUntilAsync(Func<bool> condition, string what)
{
    var deadline = DateTime.UtcNow + timeout;
    while (!condition())
    {
        if (DateTime.UtcNow > deadline)
        {
            throw new TimeoutException($"timed out waiting for {what}");
        }

        await Task.Delay(20);
    }
}
