using System.Diagnostics;
using System.Text;
using Quickstart;
using TypedMqtt;

// The Quickstart: typed publish/subscribe with topic parameters, a retained value for a late subscriber,
// MQTT 5 properties, a device's will, and request/response. With no arguments it runs on an embedded broker; --broker <address>
// runs the same against any broker. Exits 0 when every step was observed, 1 otherwise.
var timeout = TimeSpan.FromSeconds(10);
var clock = Stopwatch.StartNew();
var brokerAddress = args.Length >= 2 && args[0] == "--broker" ? args[1] : null;
if (args.Length > 0 && brokerAddress is null)
{
    Console.Error.WriteLine("usage: Quickstart [--broker <address>]   e.g. --broker mqtt://localhost:1883");
    return 2;
}

await using var embedded = brokerAddress is null ? await EmbeddedMqttBroker.StartAsync() : null;
var address = brokerAddress ?? embedded!.Address;
Console.WriteLine("TypedMqtt Quickstart");
Console.WriteLine($"broker: {(embedded is null ? address : $"embedded MQTTnet broker at {address}")}");
Console.WriteLine();

var steps = 4;
try
{
    // IHome declares a will, so each connection either sends it (.Will(payload), step 4) or says it has none (.NoWill()).
    // WithCodecContentType: MQTT 5 publishes also say their payload is application/json (off by default; it costs bytes).
    await using var home = await HomeClient.ConnectAsync(address, o => o.NoWill().WithCodecContentType());
    var versionName = home.Connection.Options.ProtocolVersion switch
    {
        MqttVersion.V310 => "MQTT 3.1",
        MqttVersion.V311 => "MQTT 3.1.1",
        _ => "MQTT 5.0",
    };
    Console.WriteLine($"connected as {home.Connection.ConnectResult.ClientId} ({versionName})");

    // 1. Typed publish and subscribe: {room} is parsed back out of the topic, the payload is already a Temperature.
    Step("1. typed publish and subscribe with a topic parameter");
    var live = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
    await using (await home.OnTemperatureAsync((room, reading, context, _) =>
    {
        if (room == "kitchen" && !context.Retain)
        {
            live.TrySetResult($"{room}: {reading.Celsius} °C (QoS {(int)context.Qos}, content type {context.ContentType ?? "none"})");
        }

        return Task.CompletedTask;
    }))
    {
        await home.PublishTemperatureAsync("kitchen", new Temperature(21.5, DateTimeOffset.UtcNow));
        Sent("home/kitchen/temperature  21.5 °C");
        Received(await live.Task.WaitAsync(timeout));
    }

    // 2. A retained value reaches a subscriber that arrives later.
    Step("2. a retained value reaches a late subscriber");
    await home.PublishTemperatureAsync("garage", new Temperature(4.0, DateTimeOffset.UtcNow));
    Sent("home/garage/temperature  4.0 °C  (retained)");
    await using (var late = await HomeClient.ConnectAsync(address, o => o.NoWill()))
    {
        var retained = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var _ = await late.OnTemperatureAsync((room, reading, context, _) =>
        {
            if (room == "garage")
            {
                retained.TrySetResult($"late subscriber got {room}: {reading.Celsius} °C (retained: {context.Retain})");
            }

            return Task.CompletedTask;
        });
        Received(await retained.Task.WaitAsync(timeout));
    }

    // 3. MQTT 5 properties: declared on the contract (user property "sender") and given per call. MQTT 3.1 and 3.1.1
    // have no message properties: the declared ones are left out there, and this call passes none.
    var version5 = home.Connection.Options.ProtocolVersion == MqttVersion.V500;
    Step(version5 ? "3. MQTT 5 properties arrive" : $"3. a command, without properties ({versionName} has no message properties)");
    var command = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
    await using (await home.OnCommandAsync((room, name, argument, context) =>
    {
        var properties = string.Join(", ", context.UserProperties.Select(p => $"{p.Name}={p.Value}"));
        command.TrySetResult(version5
            ? $"{room}/{name}({argument}) user properties [{properties}], correlation {Encoding.UTF8.GetString(context.CorrelationData.Span)}, " +
              $"response topic {context.ResponseTopic}, content type {context.ContentType}"
            : $"{room}/{name}({argument})");
        return Task.CompletedTask;
    }))
    {
        await home.SendCommandAsync("hall", "lights", "on", version5
            ? new MqttMessageProperties
            {
                CorrelationData = Encoding.UTF8.GetBytes("request-42"),
                ResponseTopic = "home/hall/replies",
                UserProperties = [new MqttUserProperty("priority", "high")],
            }
            : null);
        Sent(version5 ? "home/hall/commands/lights  \"on\"  with correlation data, response topic and user properties" : "home/hall/commands/lights  \"on\"");
        Received(await command.Task.WaitAsync(timeout));
    }

    // 4. A device declares its will when it connects; when it drops without DISCONNECT the broker publishes it.
    Step("4. a device's will fires when it drops abruptly");
    var will = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
    var device = await HomeClient.ConnectAsync(address, o => o.Will(new DeviceStatus(false, "connection lost")));
    var deviceId = device.Connection.ConnectResult.ClientId;
    await using (await home.OnDeviceStatusAsync((id, status, context, _) =>
    {
        if (id == deviceId && !status.Online)
        {
            will.TrySetResult($"devices/{id}/status: online={status.Online}, reason \"{status.Reason}\"");
        }

        return Task.CompletedTask;
    }))
    {
        Console.WriteLine($"   device {deviceId} connected with its will on devices/{deviceId}/status");
        await device.Connection.AbortAsync();
        Console.WriteLine("   device dropped without DISCONNECT");
        Received(await will.Task.WaitAsync(timeout));
    }

    await device.DisposeAsync();

    // 5. Request/response: a thermostat serves set-point requests; a handler that throws is an error reply the caller
    // receives as MqttRequestException. MQTT 5 only (response topic and correlation data).
    if (version5)
    {
        Step("5. request/response: the reply comes back to the caller, and so does an error");
        await using var thermostat = await HomeClient.ConnectAsync(address, o => o.NoWill());
        await using (await thermostat.ServeSetThermostatAsync((room, setPoint, _) => setPoint.Celsius is < 5 or > 30
            ? throw new ArgumentOutOfRangeException(nameof(setPoint), $"{setPoint.Celsius} °C is outside 5-30 °C")
            : Task.FromResult(new SetPointResult(room, setPoint.Celsius, DateTimeOffset.UtcNow))))
        {
            Sent("home/kitchen/thermostat/set  22.5 °C  (request)");
            var result = await home.SetThermostatAsync("kitchen", new SetPoint(22.5));
            Received($"reply: {result.Room} set to {result.Celsius} °C");
            try
            {
                Sent("home/kitchen/thermostat/set  80 °C  (request)");
                await home.SetThermostatAsync("kitchen", new SetPoint(80));
            }
            catch (MqttRequestException e)
            {
                Received($"error reply: {e.RemoteMessage}");
            }
        }

        steps = 5;
    }
    else
    {
        Step($"5. request/response needs MQTT 5 (response topic and correlation data): skipped on {versionName}");
    }

    // Leave a shared broker as we found it: a retained publish operation has a generated typed clear (an empty
    // retained message, MQTT's way to delete one).
    await home.ClearTemperatureAsync("kitchen");
    await home.ClearTemperatureAsync("garage");
    await home.Connection.PublishAsync($"devices/{deviceId}/status", ReadOnlyMemory<byte>.Empty, MqttQos.AtLeastOnce, retain: true);
}
catch (Exception e) when (e is TimeoutException or MqttConnectException or MqttOperationException or MqttRequestException)
{
    Console.Error.WriteLine($"FAILED: {e.Message}");
    return 1;
}

Console.WriteLine();
Console.WriteLine($"all {steps} steps observed in {clock.Elapsed.TotalSeconds:0.0} s");
return 0;

static void Step(string title) => Console.WriteLine(Environment.NewLine + title);

static void Sent(string what) => Console.WriteLine($"   -> {what}");

static void Received(string what) => Console.WriteLine($"   <- {what}");
