using System.Text.Json.Serialization;
using TypedMqtt;

namespace Quickstart;

/// <summary>A temperature reading.</summary>
public sealed record Temperature(double Celsius, DateTimeOffset MeasuredAt);

/// <summary>Whether a device is online, and why not.</summary>
public sealed record DeviceStatus(bool Online, string? Reason = null);

/// <summary>A requested thermostat set point.</summary>
public sealed record SetPoint(double Celsius);

/// <summary>What the thermostat answers.</summary>
public sealed record SetPointResult(string Room, double Celsius, DateTimeOffset EffectiveAt);

[JsonSerializable(typeof(SetPoint))]
[JsonSerializable(typeof(SetPointResult))]
[JsonSerializable(typeof(Temperature))]
[JsonSerializable(typeof(DeviceStatus))]
internal sealed partial class HomeJson : JsonSerializerContext;

/// <summary>The Quickstart's MQTT traffic, declared once; the generator writes <c>HomeClient</c>.</summary>
[MqttContract(JsonContext = typeof(HomeJson))]
[Will("devices/{clientId}/status", typeof(DeviceStatus), Qos = MqttQos.AtLeastOnce, Retain = true)]
public partial interface IHome
{
    [Publish("home/{room}/temperature", Qos = MqttQos.AtLeastOnce, Retain = true, MessageExpirySeconds = 600)]
    Task PublishTemperatureAsync(string room, Temperature reading, CancellationToken cancellationToken = default);

    [Subscribe("home/{room}/temperature", Qos = MqttQos.AtLeastOnce)]
    Task<IAsyncDisposable> OnTemperatureAsync(Func<string, Temperature, MqttMessageContext, CancellationToken, Task> handler, CancellationToken cancellationToken = default);

    [Publish("home/{room}/commands/{name}", Qos = MqttQos.ExactlyOnce)]
    [UserProperty("sender", "quickstart")]
    Task SendCommandAsync(string room, string name, string argument, MqttMessageProperties? properties = null, CancellationToken cancellationToken = default);

    [Subscribe("home/{room}/commands/{name}", Qos = MqttQos.ExactlyOnce)]
    Task<IAsyncDisposable> OnCommandAsync(Func<string, string, string, MqttMessageContext, Task> handler, CancellationToken cancellationToken = default);

    [Subscribe("devices/{deviceId}/status", Qos = MqttQos.AtLeastOnce)]
    Task<IAsyncDisposable> OnDeviceStatusAsync(Func<string, DeviceStatus, MqttMessageContext, CancellationToken, Task> handler, CancellationToken cancellationToken = default);

    // Request/response, declared once: HomeClient gets SetThermostatAsync (the requester) and ServeSetThermostatAsync
    // (the responder). The reply finds its way back by MQTT 5 response topic and correlation data.
    [Request("home/{room}/thermostat/set", TimeoutSeconds = 5)]
    Task<SetPointResult> SetThermostatAsync(string room, SetPoint setPoint, CancellationToken cancellationToken = default);
}
