namespace TypedMqtt.Generator;

/// <summary>Metadata names of the runtime types the generator recognises; a test checks each against typeof(...).FullName.</summary>
internal static class KnownTypeNames
{
    public const string MqttContractAttribute = "TypedMqtt.MqttContractAttribute";
    public const string MqttFakeAttribute = "TypedMqtt.Testing.MqttFakeAttribute";
    public const string PublishAttribute = "TypedMqtt.PublishAttribute";
    public const string SubscribeAttribute = "TypedMqtt.SubscribeAttribute";
    public const string RequestAttribute = "TypedMqtt.RequestAttribute";
    public const string WillAttribute = "TypedMqtt.WillAttribute";
    public const string UserPropertyAttribute = "TypedMqtt.UserPropertyAttribute";
    public const string PayloadAttribute = "TypedMqtt.PayloadAttribute";
    public const string MqttMessageContext = "TypedMqtt.MqttMessageContext";
    public const string MqttMessageProperties = "TypedMqtt.MqttMessageProperties";
    public const string MqttSubscription = "TypedMqtt.MqttSubscription";
    public const string MqttPayloadCodecInterface = "TypedMqtt.IMqttPayloadCodec`1";
    public const string JsonSerializableAttribute = "System.Text.Json.Serialization.JsonSerializableAttribute";
    public const string CancellationToken = "System.Threading.CancellationToken";
    public const string Task = "System.Threading.Tasks.Task";
    public const string TaskOfT = "System.Threading.Tasks.Task`1";
    public const string ValueTask = "System.Threading.Tasks.ValueTask";
    public const string ValueTaskOfT = "System.Threading.Tasks.ValueTask`1";
    public const string IAsyncDisposable = "System.IAsyncDisposable";
    public const string Guid = "System.Guid";
    public const string TimeSpan = "System.TimeSpan";
    public const string FlagsAttribute = "System.FlagsAttribute";
    public const string ReadOnlyMemory = "System.ReadOnlyMemory`1";
}
