namespace TypedMqtt;

/// <summary>The MQTT 5 payload format indicator.</summary>
public enum MqttPayloadFormat
{
    /// <summary>Unspecified bytes (indicator 0 or absent).</summary>
    Unspecified = 0,

    /// <summary>UTF-8 encoded character data (indicator 1).</summary>
    Utf8 = 1,
}
