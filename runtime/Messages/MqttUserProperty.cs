namespace TypedMqtt;

/// <summary>An MQTT 5 user property: a UTF-8 name/value pair; names may repeat and order is kept.</summary>
/// <param name="Name">The property name.</param>
/// <param name="Value">The property value.</param>
public readonly record struct MqttUserProperty(string Name, string Value);
