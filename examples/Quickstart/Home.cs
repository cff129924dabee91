using System.Text.Json.Serialization;
using TypedMqtt;

namespace Quickstart;

public sealed record Temperature(double Celsius, DateTimeOffset MeasuredAt);

public sealed record DeviceStatus(bool Online, string? Reason = null);

[JsonSerializable(typeof(Temperature))]
[JsonSerializable(typeof(DeviceStatus))]
internal sealed partial class HomeJson : JsonSerializerContext;

[MqttContract(JsonContext = typeof(HomeJson))]
[Will("devices/{clientId}/status", typeof(DeviceStatus), Qos = MqttQos.AtLeastOnce, Retain = true)]
public partial interface IHome
{
    [Publish("home/{room}/temperature", Qos = MqttQos.AtLeastOnce, Retain = true, MessageExpirySeconds = 600)]
    Task PublishTemperatureAsync(string room, Temperature reading, CancellationToken cancellationToken = default);

    [Subscribe("home/{room}/temperature", Qos = MqttQos.AtLeastOnce)]
    Task<IAsyncDisposable> OnTemperatureAsync(Func<string, Temperature, MqttMessageContext, CancellationToken, Task> handler, CancellationToken cancellationToken = default);

    [Publish("devices/{deviceId}/status", Qos = MqttQos.AtLeastOnce, Retain = true)]
    Task PublishStatusAsync(string deviceId, DeviceStatus status, CancellationToken cancellationToken = default);

    [Subscribe("devices/{deviceId}/status", Qos = MqttQos.AtLeastOnce)]
    Task<IAsyncDisposable> OnStatusAsync(Func<string, DeviceStatus, MqttMessageContext, CancellationToken, Task> handler, CancellationToken cancellationToken = default);
}
