namespace TypedMqtt;

/// <summary>Conversions from MQTTnet's types to TypedMqtt's, kept in one place.</summary>
internal static class MqttnetConversions
{
    public static IReadOnlyList<MqttUserProperty> ToUserProperties(List<MQTTnet.Packets.MqttUserProperty>? properties)
    {
        if (properties is not { Count: > 0 })
        {
            return [];
        }

        var result = new MqttUserProperty[properties.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = new MqttUserProperty(properties[i].Name, MQTTnet.Packets.MqttUserPropertyExtensions.ReadValueAsString(properties[i]));
        }

        return result;
    }
}
