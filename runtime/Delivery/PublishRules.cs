using TypedMqtt.Topics;

namespace TypedMqtt.Delivery;

/// <summary>What a publish must satisfy before anything is queued or sent: a valid topic, QoS and properties, within the server's limits.</summary>
internal static class PublishRules
{
    /// <summary>
    /// Checks topic, QoS and properties; throws before anything is queued or sent. Returns the properties to send: on
    /// MQTT 3.1/3.1.1, <see cref="MqttMessageProperties.Mqtt5Only"/> ones are left out.
    /// </summary>
    public static MqttMessageProperties? Validate(string topic, MqttQos qos, MqttMessageProperties? properties, MqttVersion version)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var topicError = TopicRules.CheckTopicName(topic);
        if (topicError is not null)
        {
            throw new ArgumentException(topicError, nameof(topic));
        }

        if (qos is < MqttQos.AtMostOnce or > MqttQos.ExactlyOnce)
        {
            throw new ArgumentOutOfRangeException(nameof(qos), qos, "QoS must be 0, 1 or 2.");
        }

        if (properties is not null && !properties.IsEmpty)
        {
            if (version != MqttVersion.V500 && properties.Mqtt5Only)
            {
                return null;
            }

            if (version != MqttVersion.V500)
            {
                throw new ArgumentException($"Message properties are an MQTT 5 feature but the connection uses {MqttConnectionOptionsValidator.Describe(version)}.", nameof(properties));
            }

            var propertyError = MqttConnectionOptionsValidator.CheckMessageProperties(properties, "Message");
            if (propertyError is not null)
            {
                throw new ArgumentException(propertyError, nameof(properties));
            }
        }

        return properties;
    }

    /// <summary>
    /// Refuses locally what the server said in CONNACK it would refuse: QoS, retain, and a packet larger than its
    /// Maximum Packet Size, computed exactly as it will be written (<see cref="PacketSizes"/>).
    /// </summary>
    public static void CheckServerLimits(string topic, int payloadLength, MqttQos qos, bool retain, MqttMessageProperties? properties, CodecDefaults defaults, bool version5, MqttConnectResult server)
    {
        if (qos > server.MaximumQos)
        {
            throw new MqttOperationException($"Publishing to '{topic}' with QoS {(int)qos} is refused locally: the server accepts at most QoS {(int)server.MaximumQos}. Lower the QoS.", 0x9B);
        }

        if (retain && !server.RetainAvailable)
        {
            throw new MqttOperationException($"Publishing to '{topic}' with retain is refused locally: the server does not support retained messages. Publish without retain.", 0x9A);
        }

        if (server.MaximumPacketSize is { } maximum)
        {
            var size = PacketSizes.Publish(topic, payloadLength, qos, properties, defaults, version5);
            if (size > maximum)
            {
                throw new MqttOperationException(
                    $"Publishing {payloadLength} bytes to '{topic}' is refused locally: the PUBLISH would be {size} bytes, {size - maximum} more than the server's maximum packet size of {maximum} bytes. Send a smaller payload or fewer properties.",
                    0x95);
            }
        }
    }
}
