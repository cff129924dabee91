using System.Buffers;
using System.Text;
using System.Text.Json.Serialization;

namespace TypedMqtt.Tests.Typed;

public sealed record Reading(double Value, string Unit);

public sealed record Status(bool Online, string? Reason = null);

public enum Mode
{
    Idle,
    Heating,
    Cooling,
}

[JsonSerializable(typeof(Reading))]
[JsonSerializable(typeof(Status))]
internal sealed partial class TestJson : JsonSerializerContext;

/// <summary>Every topic parameter type and payload kind the generator supports.</summary>
[MqttContract(JsonContext = typeof(TestJson))]
[Will("test/devices/{clientId}/status", typeof(Status), Qos = MqttQos.AtLeastOnce, Retain = true, MessageExpirySeconds = 300)]
public partial interface ITelemetry
{
    [Publish("test/sensors/{site}/{sensorId}/{mode}/{active}/{batch}", Qos = MqttQos.AtLeastOnce)]
    Task PublishReadingAsync(string site, int sensorId, Mode mode, bool active, Guid batch, Reading reading, CancellationToken cancellationToken = default);

    [Subscribe("test/sensors/{site}/{sensorId}/{mode}/{active}/{batch}", Qos = MqttQos.AtLeastOnce)]
    Task<IAsyncDisposable> OnReadingAsync(Func<string, int, Mode, bool, Guid, Reading, MqttMessageContext, CancellationToken, Task> handler, CancellationToken cancellationToken = default);

    [Publish("test/files/{*path}", Qos = MqttQos.ExactlyOnce)]
    [UserProperty("kind", "file")]
    Task PublishFileAsync(string path, byte[] content, MqttMessageProperties? properties = null, CancellationToken cancellationToken = default);

    [Subscribe("test/files/{*path}", Qos = MqttQos.ExactlyOnce)]
    Task<MqttSubscription> OnFileAsync(Func<string, byte[], MqttMessageContext, ValueTask> handler, CancellationToken cancellationToken = default);

    [Publish("test/notes/{topic}", Retain = true)]
    ValueTask PublishNoteAsync(string topic, string text, CancellationToken cancellationToken = default);

    [Subscribe("test/notes/{topic}")]
    Task<IAsyncDisposable> OnNoteAsync(Func<string, string, Task> handler, CancellationToken cancellationToken = default);

    [Publish("test/optional/{id}")]
    Task PublishOptionalAsync(int id, string? text, CancellationToken cancellationToken = default);

    [Subscribe("test/optional/{id}")]
    Task<IAsyncDisposable> OnOptionalAsync(Func<int, string?, Task> handler, CancellationToken cancellationToken = default);

    [Subscribe("test/limited/{id}", MaxPayloadBytes = 16)]
    Task<IAsyncDisposable> OnLimitedAsync(Func<int, string, Task> handler, CancellationToken cancellationToken = default);

    [Publish("test/ping")]
    Task PingAsync(CancellationToken cancellationToken = default);

    [Subscribe("test/devices/{deviceId}/status", Qos = MqttQos.AtLeastOnce)]
    Task<IAsyncDisposable> OnStatusAsync(Func<string, Status, MqttMessageContext, CancellationToken, Task> handler, CancellationToken cancellationToken = default);

    [Subscribe("test/custom/{id}", Codec = typeof(ReversedTextCodec))]
    Task<IAsyncDisposable> OnCustomAsync(Func<int, string, Task> handler, CancellationToken cancellationToken = default);

    [Publish("test/custom/{id}", Codec = typeof(ReversedTextCodec))]
    Task PublishCustomAsync(int id, string text, CancellationToken cancellationToken = default);
}

/// <summary>A second contract, to share one connection with the first.</summary>
[MqttContract]
public partial interface IAlarms
{
    [Publish("test/alarms/{zone}/urgent", Qos = MqttQos.AtLeastOnce, OfflinePolicy = MqttOfflinePolicy.FailFast)]
    Task RaiseUrgentAsync(string zone, string message, CancellationToken cancellationToken = default);

    [Publish("test/alarms/{zone}", Qos = MqttQos.AtLeastOnce)]
    Task RaiseAsync(string zone, string message, CancellationToken cancellationToken = default);

    [Subscribe("test/alarms/{zone}", Qos = MqttQos.AtLeastOnce)]
    Task<IAsyncDisposable> OnAlarmAsync(Func<string, string, CancellationToken, Task> handler, CancellationToken cancellationToken = default);
}

/// <summary>One client implementing several contracts through interface inheritance.</summary>
[MqttContract(JsonContext = typeof(TestJson))]
public partial interface IPlant : ITelemetry, IAlarms;

/// <summary>A contract pinned to MQTT 3.1.1: it may use no MQTT 5 feature.</summary>
[MqttContract(ProtocolVersion = MqttVersion.V311)]
public partial interface ILegacy
{
    [Publish("test/legacy/{id}", Qos = MqttQos.AtLeastOnce)]
    Task PublishAsync(int id, string value, CancellationToken cancellationToken = default);

    [Subscribe("test/legacy/{id}", Qos = MqttQos.AtLeastOnce)]
    Task<IAsyncDisposable> OnValueAsync(Func<int, string, MqttMessageContext, Task> handler, CancellationToken cancellationToken = default);
}

/// <summary>A custom format: UTF-8 text, reversed. Shows the pluggable codec.</summary>
public sealed class ReversedTextCodec : IMqttPayloadCodec<string>
{
    public string? ContentType => "text/x-reversed";

    public MqttPayloadFormat PayloadFormat => MqttPayloadFormat.Utf8;

    public void Encode(string value, IBufferWriter<byte> writer) => writer.Write(Encoding.UTF8.GetBytes(new string(value.Reverse().ToArray())));

    public string Decode(ReadOnlySequence<byte> payload) => new(Encoding.UTF8.GetString(payload.ToArray()).Reverse().ToArray());
}
