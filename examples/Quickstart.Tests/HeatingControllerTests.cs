using Quickstart;
using TypedMqtt;
using TypedMqtt.Testing;

namespace Quickstart.Tests;

/// <summary>The generated fake of IHome: implements the interface, records what is sent, delivers typed messages, answers requests.</summary>
[MqttFake(typeof(IHome))]
public partial class FakeHome;

/// <summary>Unit tests of application code with the generated fake: no connection, no broker, no waiting.</summary>
public sealed class HeatingControllerTests
{
    [Fact]
    public async Task A_cold_room_asks_its_thermostat_for_the_target()
    {
        var home = new FakeHome();
        home.SetThermostat.Reply((room, setPoint) => new SetPointResult(room, setPoint.Celsius, DateTimeOffset.UnixEpoch));
        await using var running = await new HeatingController(home).StartAsync();

        await home.OnTemperature.DeliverAsync("kitchen", new Temperature(16.5, DateTimeOffset.UtcNow));

        var call = Assert.Single(home.SetThermostat.Calls);
        Assert.Equal(("kitchen", 21.0, "home/kitchen/thermostat/set"), (call.Room, call.SetPoint.Celsius, call.Topic));
        Assert.Empty(home.SendCommand.Calls);
    }

    [Fact]
    public async Task A_warm_room_is_left_alone()
    {
        var home = new FakeHome();
        await using var running = await new HeatingController(home).StartAsync();

        var handlers = await home.OnTemperature.DeliverAsync("garage", new Temperature(19, DateTimeOffset.UtcNow));

        Assert.Equal(1, handlers);
        Assert.Empty(home.Sent);
    }

    [Fact]
    public async Task When_no_thermostat_answers_the_heater_is_turned_on()
    {
        var home = new FakeHome();
        home.SetThermostat.TimeOut();
        await using var running = await new HeatingController(home).StartAsync();

        await home.OnTemperature.DeliverAsync("cellar", new Temperature(9, DateTimeOffset.UtcNow));

        var command = home.SendCommand.Last;
        Assert.Equal(("cellar", "heater", "on", "home/cellar/commands/heater"), (command.Room, command.Name, command.Argument, command.Topic));
        Assert.Equal(["SetThermostatAsync", "SendCommandAsync"], home.Sent.Select(m => m.Operation));
    }

    [Fact]
    public async Task Stopping_unsubscribes()
    {
        var home = new FakeHome();
        var running = await new HeatingController(home).StartAsync();
        Assert.Equal(1, home.OnTemperature.Count);

        await running.DisposeAsync();

        Assert.Equal(0, home.OnTemperature.Count);
        Assert.Equal(0, await home.OnTemperature.DeliverAsync("kitchen", new Temperature(5, DateTimeOffset.UtcNow)));
    }
}
