using TypedMqtt;

namespace Quickstart;

/// <summary>
/// Application logic over the <see cref="IHome"/> contract, and the subject of the unit-test example in
/// examples/Quickstart.Tests: when a room reports a temperature below <see cref="MinimumCelsius"/>, it asks that room's
/// thermostat for <see cref="TargetCelsius"/>; when no thermostat answers in time, it turns the room's heater on directly.
/// It depends on the interface only, so a test gives it a generated fake, or a real client over the in-memory transport.
/// </summary>
public sealed class HeatingController(IHome home)
{
    /// <summary>Below this a room is heated.</summary>
    public double MinimumCelsius { get; init; } = 18;

    /// <summary>The set point asked for.</summary>
    public double TargetCelsius { get; init; } = 21;

    /// <summary>Subscribes to every room's temperature; dispose the result to stop.</summary>
    /// <param name="cancellationToken">Cancels the subscription.</param>
    /// <returns>The subscription.</returns>
    public Task<IAsyncDisposable> StartAsync(CancellationToken cancellationToken = default) =>
        home.OnTemperatureAsync(async (room, reading, context, ct) =>
        {
            if (reading.Celsius >= MinimumCelsius)
            {
                return;
            }

            try
            {
                await home.SetThermostatAsync(room, new SetPoint(TargetCelsius), ct);
            }
            catch (MqttRequestTimeoutException)
            {
                await home.SendCommandAsync(room, "heater", "on", cancellationToken: ct);
            }
        }, cancellationToken);
}
