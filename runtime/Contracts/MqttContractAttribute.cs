namespace TypedMqtt;

/// <summary>
/// Marks a <c>partial interface</c> as an MQTT contract. At build time TypedMqtt's generator emits a client class that
/// implements it (named after the interface: <c>IHome</c> becomes <c>HomeClient</c>), and reports contracts that cannot
/// work as compile errors (TMQ0001 and up).
/// </summary>
[AttributeUsage(AttributeTargets.Interface, AllowMultiple = false, Inherited = false)]
public sealed class MqttContractAttribute : Attribute
{
    /// <summary>
    /// A <c>System.Text.Json.Serialization.JsonSerializerContext</c> that declares every JSON payload type of the contract
    /// (trim- and AOT-safe serialization, no reflection).
    /// </summary>
    public Type? JsonContext { get; set; }

    /// <summary>
    /// The protocol version the contract is written for. Pinning it to <see cref="MqttVersion.V311"/> makes MQTT 5-only
    /// features (message properties, subscription options, shared subscriptions) compile errors. Default 5.0.
    /// </summary>
    public MqttVersion ProtocolVersion { get; set; } = MqttVersion.V500;

    /// <summary>Name of the generated client class; default: the interface name without its leading 'I', plus <c>Client</c>.</summary>
    public string? ClientName { get; set; }
}
