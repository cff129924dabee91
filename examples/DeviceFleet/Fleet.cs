using System.Text.Json.Serialization;
using TypedMqtt;

namespace DeviceFleet;

/// <summary>Periodic measurements a device sends up.</summary>
public sealed record Telemetry(double Temperature, double Battery, DateTimeOffset At);

/// <summary>A command sent down to one device.</summary>
public sealed record Command(string Argument, DateTimeOffset IssuedAt);

/// <summary>Online/offline state, retained, and the device's will.</summary>
public sealed record DeviceState(bool Online, string Reason);

[JsonSerializable(typeof(Telemetry))]
[JsonSerializable(typeof(Command))]
[JsonSerializable(typeof(DeviceState))]
internal sealed partial class FleetJson : JsonSerializerContext;

/// <summary>What a device does: telemetry up, commands down, status via a retained message and its will.</summary>
[MqttContract(JsonContext = typeof(FleetJson))]
[Will("fleet/{clientId}/status", typeof(DeviceState), Qos = MqttQos.AtLeastOnce, Retain = true)]
public partial interface IDevice
{
    [Publish("fleet/{deviceId}/telemetry", MessageExpirySeconds = 60)]
    Task SendTelemetryAsync(string deviceId, Telemetry telemetry, CancellationToken cancellationToken = default);

    [Publish("fleet/{deviceId}/status", Qos = MqttQos.AtLeastOnce, Retain = true)]
    Task ReportStateAsync(string deviceId, DeviceState state, CancellationToken cancellationToken = default);

    [Subscribe("fleet/{deviceId}/commands/{name}", Qos = MqttQos.AtLeastOnce)]
    Task<IAsyncDisposable> OnCommandAsync(Func<string, string, Command, MqttMessageContext, CancellationToken, Task> handler, CancellationToken cancellationToken = default);
}

/// <summary>What the back end does: watch telemetry and status, send commands.</summary>
[MqttContract(JsonContext = typeof(FleetJson))]
public partial interface IFleetBackend
{
    [Subscribe("fleet/{deviceId}/telemetry")]
    Task<IAsyncDisposable> OnTelemetryAsync(Func<string, Telemetry, CancellationToken, Task> handler, CancellationToken cancellationToken = default);

    [Subscribe("fleet/{deviceId}/status", Qos = MqttQos.AtLeastOnce)]
    Task<IAsyncDisposable> OnStateAsync(Func<string, DeviceState, MqttMessageContext, CancellationToken, Task> handler, CancellationToken cancellationToken = default);

    [Publish("fleet/{deviceId}/commands/{name}", Qos = MqttQos.AtLeastOnce)]
    Task SendCommandAsync(string deviceId, string name, Command command, CancellationToken cancellationToken = default);
}
