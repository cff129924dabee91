using Quickstart;
using TypedMqtt;

namespace Quickstart.Tests;

/// <summary>
/// The same controller over the real runtime and generated client, on MQTTnet's broker in process through the in-memory
/// transport: MQTT packets, QoS 1 acknowledgements and request/response for real, and no socket (the address's host,
/// 'in-memory', does not even resolve).
/// </summary>
public sealed class InMemoryHomeTests
{
    [Fact]
    public async Task A_cold_reading_published_by_a_sensor_reaches_the_thermostat_as_a_request()
    {
        await using var broker = await EmbeddedMqttBroker.StartInMemoryAsync();
        await using var controllerSide = await HomeClient.ConnectAsync(broker.Address, o => o.NoWill().WithStreamConnector(broker.ConnectInMemoryAsync));
        await using var deviceSide = await HomeClient.ConnectAsync(broker.Address, o => o.NoWill().WithStreamConnector(broker.ConnectInMemoryAsync));
        var asked = new TaskCompletionSource<(string Room, double Celsius)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var thermostat = await deviceSide.ServeSetThermostatAsync((room, setPoint, _) =>
        {
            asked.TrySetResult((room, setPoint.Celsius));
            return Task.FromResult(new SetPointResult(room, setPoint.Celsius, DateTimeOffset.UtcNow));
        });
        await using var running = await new HeatingController(controllerSide).StartAsync();

        await deviceSide.PublishTemperatureAsync("bathroom", new Temperature(15, DateTimeOffset.UtcNow));

        Assert.Equal(("bathroom", 21.0), await asked.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await deviceSide.ClearTemperatureAsync("bathroom"); // the reading was retained: leave the broker clean
    }
}
