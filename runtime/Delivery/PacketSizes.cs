using System.Text;

namespace TypedMqtt.Delivery;

/// <summary>
/// The exact size in bytes of a PUBLISH (and of a SUBSCRIBE or UNSUBSCRIBE) as it will be written: fixed header, remaining length, topic, packet
/// identifier, MQTT 5 properties (each present one with its identifier byte) and payload. A property-based test holds it
/// to the bytes MQTTnet's encoder really writes, so a server's Maximum Packet Size is honoured to the byte.
/// </summary>
internal static class PacketSizes
{
    /// <summary>The size of the PUBLISH for these parts; <paramref name="topicAlias"/> 0 is none, and with <paramref name="topicOmitted"/> the topic is sent as an empty string.</summary>
    public static long Publish(string topic, long payloadLength, MqttQos qos, MqttMessageProperties? properties, CodecDefaults defaults, bool version5, ushort topicAlias = 0, bool topicOmitted = false)
    {
        long remaining = 2 + (topicOmitted ? 0 : Encoding.UTF8.GetByteCount(topic)) + (qos == MqttQos.AtMostOnce ? 0 : 2) + payloadLength;
        if (version5)
        {
            var propertyLength = PublishProperties(properties, defaults, topicAlias);
            remaining += VariableByteIntegerSize(propertyLength) + propertyLength;
        }

        return 1 + VariableByteIntegerSize(remaining) + remaining;
    }

    /// <summary>The size of a SUBSCRIBE for one topic filter; <paramref name="subscriptionIdentifier"/> 0 is none (MQTT 5 §3.8).</summary>
    public static long Subscribe(string filter, uint subscriptionIdentifier, bool version5)
    {
        long remaining = 2 + 2 + Encoding.UTF8.GetByteCount(filter) + 1;
        if (version5)
        {
            var propertyLength = subscriptionIdentifier == 0 ? 0 : 1 + VariableByteIntegerSize(subscriptionIdentifier);
            remaining += VariableByteIntegerSize(propertyLength) + propertyLength;
        }

        return 1 + VariableByteIntegerSize(remaining) + remaining;
    }

    /// <summary>The size of an UNSUBSCRIBE for one topic filter (MQTT 5 §3.10).</summary>
    public static long Unsubscribe(string filter, bool version5)
    {
        long remaining = 2 + 2 + Encoding.UTF8.GetByteCount(filter) + (version5 ? 1 : 0);
        return 1 + VariableByteIntegerSize(remaining) + remaining;
    }

    /// <summary>Bytes of a Variable Byte Integer (MQTT 5 §1.5.5): 1 to 4, or 5 for a value no packet may carry.</summary>
    public static int VariableByteIntegerSize(long value) => value switch
    {
        < 128 => 1,
        < 16_384 => 2,
        < 2_097_152 => 3,
        < 268_435_456 => 4,
        _ => 5,
    };

    /// <summary>The PUBLISH properties as PublishPackets.Build sets them (the call's, else the codec's content type and format).</summary>
    private static long PublishProperties(MqttMessageProperties? properties, CodecDefaults defaults, ushort topicAlias)
    {
        long length = 0;
        // MQTTnet leaves out an empty content type or response topic, as it leaves out an unset one.
        if ((properties?.ContentType ?? defaults.ContentType) is { Length: > 0 } contentType)
        {
            length += 1 + 2 + Encoding.UTF8.GetByteCount(contentType);
        }

        if ((properties?.PayloadFormat ?? defaults.Format) != MqttPayloadFormat.Unspecified)
        {
            length += 1 + 1;
        }

        if (topicAlias != 0)
        {
            length += 1 + 2;
        }

        if (properties is null || properties.IsEmpty)
        {
            return length;
        }

        if (properties.MessageExpiryInterval is { } expiry && expiry != 0)
        {
            length += 1 + 4;
        }

        if (properties.ResponseTopic is { Length: > 0 } responseTopic)
        {
            length += 1 + 2 + Encoding.UTF8.GetByteCount(responseTopic);
        }

        if (!properties.CorrelationData.IsEmpty)
        {
            length += 1 + 2 + properties.CorrelationData.Length;
        }

        foreach (var property in properties.UserProperties)
        {
            length += 1 + 2 + Encoding.UTF8.GetByteCount(property.Name) + 2 + Encoding.UTF8.GetByteCount(property.Value);
        }

        return length;
    }
}
