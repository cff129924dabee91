namespace TypedMqtt.Generator.Tests;

/// <summary>One contract source per shape the generator must handle; each has a snapshot in Snapshots/{Name}.g.cs.</summary>
internal static class ContractShapes
{
    public static readonly IReadOnlyDictionary<string, string> All = WithFakes(new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["TypedTopicParameters"] = """
            namespace Shapes;

            [MqttContract(JsonContext = typeof(ShapesJson))]
            public partial interface ITypedTopics
            {
                [Publish("sites/{site}/floors/{floor}/devices/{deviceId}/{kind}/{enabled}", Qos = MqttQos.AtLeastOnce)]
                Task PublishReadingAsync(string site, int floor, Guid deviceId, DeviceKind kind, bool enabled, Reading reading, CancellationToken cancellationToken = default);

                [Subscribe("sites/{site}/floors/{floor}/devices/{deviceId}/{kind}/{enabled}", Qos = MqttQos.ExactlyOnce)]
                Task<IAsyncDisposable> OnReadingAsync(Func<string, int, Guid, DeviceKind, bool, Reading, MqttMessageContext, CancellationToken, Task> handler, CancellationToken cancellationToken = default);

                [Publish("counters/{big}/{small}/{unsigned}", Retain = true)]
                Task PublishCounterAsync(long big, byte small, ulong @unsigned, Reading reading);
            }
            """,

        ["Overloads"] = """
            namespace Shapes;

            [MqttContract(JsonContext = typeof(ShapesJson))]
            public partial interface IOverloads
            {
                [Publish("rooms/{room}/reading")]
                Task PublishAsync(string room, Reading reading);

                [Publish("rooms/{room}/reading", Qos = MqttQos.AtLeastOnce, MessageExpirySeconds = 60)]
                Task PublishAsync(string room, Reading reading, CancellationToken cancellationToken);

                [Subscribe("rooms/{room}/reading")]
                Task<IAsyncDisposable> OnReadingAsync(Func<string, Reading, Task> handler);

                [Subscribe("archive/{room}/reading", Qos = MqttQos.AtLeastOnce)]
                Task<IAsyncDisposable> OnReadingAsync(Func<string, Reading, MqttMessageContext, CancellationToken, Task> handler, CancellationToken cancellationToken);
            }
            """,

        ["Requests"] = """
            namespace Shapes;

            [MqttContract(JsonContext = typeof(ShapesJson))]
            [UserProperty("app", "shapes")]
            public partial interface IRequests
            {
                [Request("devices/{device}/{kind}/reboot")]
                Task<Status> RebootAsync(string device, DeviceKind kind, Reading reading, TimeSpan? timeout = null, CancellationToken cancellationToken = default);

                [Request("devices/{device}/ping", Qos = MqttQos.AtMostOnce, TimeoutSeconds = 5)]
                ValueTask<string> PingAsync(string device, CancellationToken cancellationToken = default);

                [Request("jobs", SharedGroup = "workers", MaxConcurrency = 4, TimeoutSeconds = 60)]
                Task<Status?> RunAsync(string? job, MqttMessageProperties? properties = null, TimeSpan timeout = default);

                [Request("points/{id}", Codec = typeof(PointCodec), ReplyCodec = typeof(PointCodec))]
                Task<Point> MoveAsync(int id, Point to, TimeSpan? timeout = null);
            }
            """,

        ["CatchAll"] = """
            namespace Shapes;

            [MqttContract]
            public partial interface ILogs
            {
                [Publish("logs/{service}/{*path}")]
                Task PublishLogAsync(string service, string path, string line, CancellationToken cancellationToken = default);

                [Subscribe("logs/{service}/{*path}")]
                Task<IAsyncDisposable> OnLogAsync(Func<string, string, string, Task> handler, CancellationToken cancellationToken = default);
            }
            """,

        ["PublishWithoutPayload"] = """
            namespace Shapes;

            [MqttContract]
            public partial interface IPings
            {
                [Publish("devices/{deviceId}/ping")]
                Task PingAsync(string deviceId, CancellationToken cancellationToken = default);

                [Publish("broadcast/ping", Qos = MqttQos.AtLeastOnce)]
                Task PingAllAsync();
            }
            """,

        ["MessageProperties"] = """
            namespace Shapes;

            [MqttContract]
            [UserProperty("origin", "tests")]
            public partial interface ICommands
            {
                [Publish("commands/{deviceId}")]
                ValueTask SendAsync(string deviceId, string command, MqttMessageProperties? properties = null, CancellationToken cancellationToken = default);

                [Publish("commands/{deviceId}/urgent", Qos = MqttQos.ExactlyOnce, MessageExpirySeconds = 30, ContentType = "text/x-command", ResponseTopic = "replies/commands")]
                [UserProperty("priority", "high")]
                ValueTask SendUrgentAsync(string deviceId, string command, MqttMessageProperties? properties = null, CancellationToken cancellationToken = default);

                [Publish("commands/all")]
                Task SendToAllAsync(string command, MqttMessageProperties properties);
            }
            """,

        ["PayloadKinds"] = """
            namespace Shapes;

            [MqttContract(JsonContext = typeof(ShapesJson))]
            public partial interface IPayloads
            {
                [Publish("payloads/text")]
                Task PublishTextAsync(string text);

                [Subscribe("payloads/text")]
                Task<IAsyncDisposable> OnTextAsync(Func<string, Task> handler);

                [Publish("payloads/bytes")]
                Task PublishBytesAsync(byte[] bytes);

                [Subscribe("payloads/bytes")]
                Task<IAsyncDisposable> OnBytesAsync(Func<byte[], Task> handler);

                [Publish("payloads/memory")]
                Task PublishMemoryAsync(ReadOnlyMemory<byte> memory);

                [Subscribe("payloads/memory")]
                Task<IAsyncDisposable> OnMemoryAsync(Func<ReadOnlyMemory<byte>, Task> handler);

                [Publish("payloads/point", Codec = typeof(PointCodec))]
                Task PublishPointAsync(Point point);

                [Subscribe("payloads/point", Codec = typeof(PointCodec))]
                Task<IAsyncDisposable> OnPointAsync(Func<Point, Task> handler);

                [Publish("payloads/json/{name}")]
                Task PublishNullableJsonAsync(string name, [Payload] Reading? reading);

                [Subscribe("payloads/json/{name}")]
                Task<IAsyncDisposable> OnNullableJsonAsync(Func<string, Reading?, Task> handler);

                [Publish("payloads/maybe-text")]
                Task PublishNullableTextAsync(string? text);
            }
            """,

        ["HandlerShapes"] = """
            namespace Shapes;

            [MqttContract(JsonContext = typeof(ShapesJson))]
            public partial interface IHandlers
            {
                [Subscribe("h/{room}/plain")]
                Task<IAsyncDisposable> PlainAsync(Func<string, Reading, Task> handler);

                [Subscribe("h/{room}/context")]
                Task<IAsyncDisposable> WithContextAsync(Func<string, Reading, MqttMessageContext, Task> handler, CancellationToken cancellationToken = default);

                [Subscribe("h/{room}/token")]
                Task<IAsyncDisposable> WithTokenAsync(Func<string, Reading, CancellationToken, Task> handler, CancellationToken cancellationToken = default);

                [Subscribe("h/{room}/both")]
                Task<IAsyncDisposable> WithBothAsync(Func<string, Reading, MqttMessageContext, CancellationToken, Task> handler, CancellationToken cancellationToken = default);

                [Subscribe("h/{room}/value-task")]
                Task<IAsyncDisposable> ValueTaskHandlerAsync(Func<string, Reading, MqttMessageContext, CancellationToken, ValueTask> handler, CancellationToken cancellationToken = default);

                [Subscribe("h/{room}/subscription")]
                Task<MqttSubscription> ReturnsSubscriptionAsync(Func<string, Reading, Task> handler, CancellationToken cancellationToken = default);

                [Subscribe("h/{room}/value-task-return")]
                ValueTask<IAsyncDisposable> ReturnsValueTaskAsync(Func<string, Reading, Task> handler, CancellationToken cancellationToken = default);

                [Subscribe("h/{room}/value-task-subscription")]
                ValueTask<MqttSubscription> ReturnsValueTaskSubscriptionAsync(Func<string, Reading, Task> handler);
            }
            """,

        ["SharedAndV5Options"] = """
            namespace Shapes;

            [MqttContract(JsonContext = typeof(ShapesJson))]
            public partial interface IWorkers
            {
                [Subscribe("jobs/{queue}", Qos = MqttQos.AtLeastOnce, SharedGroup = "workers", BufferCapacity = 16)]
                Task<IAsyncDisposable> OnJobAsync(Func<string, Reading, MqttMessageContext, CancellationToken, Task> handler, CancellationToken cancellationToken = default);

                [Subscribe("config/{key}", NoLocal = true, RetainAsPublished = true, RetainHandling = MqttRetainHandling.SendAtSubscribeIfNew)]
                Task<IAsyncDisposable> OnConfigAsync(Func<string, string, Task> handler, CancellationToken cancellationToken = default);

                [Subscribe("alarms", RetainHandling = MqttRetainHandling.DoNotSend)]
                Task<IAsyncDisposable> OnAlarmAsync(Func<string, Task> handler, CancellationToken cancellationToken = default);
            }
            """,

        ["Will"] = """
            namespace Shapes;

            [MqttContract(JsonContext = typeof(ShapesJson))]
            [Will("devices/{clientId}/status", typeof(Status), Qos = MqttQos.AtLeastOnce, Retain = true, DelaySeconds = 5, MessageExpirySeconds = 3600, ContentType = "application/vnd.status+json")]
            public partial interface IDevice
            {
                [Publish("devices/{deviceId}/status", Qos = MqttQos.AtLeastOnce, Retain = true)]
                Task PublishStatusAsync(string deviceId, Status status, CancellationToken cancellationToken = default);
            }
            """,

        ["InheritedContract"] = """
            namespace Shapes;

            [MqttContract]
            public partial interface IBaseTelemetry
            {
                [Publish("telemetry/{deviceId}/heartbeat")]
                Task HeartbeatAsync(string deviceId, CancellationToken cancellationToken = default);
            }

            [MqttContract(JsonContext = typeof(ShapesJson), ClientName = "FullTelemetry")]
            public partial interface IFullTelemetry : IBaseTelemetry
            {
                [Publish("telemetry/{deviceId}/reading")]
                Task PublishReadingAsync(string deviceId, Reading reading, CancellationToken cancellationToken = default);

                [Subscribe("telemetry/{deviceId}/reading")]
                Task<IAsyncDisposable> OnReadingAsync(Func<string, Reading, Task> handler, CancellationToken cancellationToken = default);
            }

            // IDevice inherits IDeviceBase's JsonContext and will; the base's user property goes with the base's method only.
            [MqttContract(JsonContext = typeof(ShapesJson))]
            [Will("devices/{clientId}/status", typeof(Status), Retain = true)]
            [UserProperty("source", "device")]
            public partial interface IDeviceBase
            {
                [Publish("devices/{deviceId}/status")]
                Task PublishStatusAsync(string deviceId, Status status);
            }

            [MqttContract]
            public partial interface IDevice : IDeviceBase
            {
                [Publish("devices/{deviceId}/reading")]
                Task PublishReadingAsync(string deviceId, Reading reading);
            }
            """,

        ["PinnedToV311"] = """
            namespace Shapes;

            [MqttContract(JsonContext = typeof(ShapesJson), ProtocolVersion = MqttVersion.V311)]
            [Will("legacy/{clientId}/status", typeof(Status), Retain = true)]
            internal partial interface ILegacy
            {
                [Publish("legacy/{deviceId}/reading", Qos = MqttQos.AtLeastOnce, Retain = true)]
                Task PublishReadingAsync(string deviceId, Reading reading, CancellationToken cancellationToken = default);

                [Subscribe("legacy/{deviceId}/reading", Qos = MqttQos.AtLeastOnce)]
                Task<IAsyncDisposable> OnReadingAsync(Func<string, Reading, MqttMessageContext, CancellationToken, Task> handler, CancellationToken cancellationToken = default);
            }
            """,

        ["GlobalNamespace"] = """
            using Shapes;

            [MqttContract(JsonContext = typeof(ShapesJson))]
            public partial interface IGlobal
            {
                [Publish("global/{event}")]
                Task PublishAsync(string @event, Reading reading);
            }
            """,
    });

    /// <summary>A fake (TypedMqtt.Testing's [MqttFake]) of some shapes, beside their client: every operation kind and handler form.</summary>
    private static SortedDictionary<string, string> WithFakes(SortedDictionary<string, string> shapes)
    {
        foreach (var (shape, contract) in new[] { ("Requests", "IRequests"), ("HandlerShapes", "IHandlers"), ("CatchAll", "ILogs"), ("PublishWithoutPayload", "IPings"), ("Overloads", "IOverloads"), ("PayloadKinds", "IPayloads") })
        {
            shapes["FakeOf" + shape] = shapes[shape] + $"\n[TypedMqtt.Testing.MqttFake(typeof({contract}))]\npublic partial class Fake{contract.Substring(1)};\n";
        }

        return shapes;
    }
}
