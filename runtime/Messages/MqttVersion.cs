namespace TypedMqtt;

/// <summary>The MQTT protocol version a connection speaks.</summary>
public enum MqttVersion
{
    /// <summary>MQTT 3.1 (protocol name <c>MQIsdp</c>, level 3).</summary>
    V310 = 3,

    /// <summary>MQTT 3.1.1 (level 4).</summary>
    V311 = 4,

    /// <summary>MQTT 5.0 (level 5), the default.</summary>
    V500 = 5,
}
