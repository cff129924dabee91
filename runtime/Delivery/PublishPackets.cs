using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace TypedMqtt.Delivery;

/// <summary>Content type and payload format a codec implies, sent on MQTT 5 unless the message's properties set them.</summary>
/// <param name="ContentType">The codec's content type.</param>
/// <param name="Format">The codec's payload format.</param>
internal readonly record struct CodecDefaults(string? ContentType, MqttPayloadFormat Format);

/// <summary>What outbound delivery needs to know of the connection's options.</summary>
/// <param name="Address">The broker, for messages.</param>
/// <param name="Version5">Whether the connection speaks MQTT 5.</param>
/// <param name="Outbox">Durable storage of accepted QoS 1/2 messages, if any.</param>
/// <param name="OfflineQueue">Capacity and policies of the offline queue.</param>
internal sealed record DeliverySettings(string Address, bool Version5, IMqttOutbox? Outbox, MqttOfflineQueueOptions OfflineQueue);

/// <summary>Turns a publish into MQTTnet's PUBLISH packet, the one type the codec encodes.</summary>
internal static class PublishPackets
{
    /// <summary>
    /// The properties a publish carries with it: the call's, with the codec's content type and payload format filled in
    /// where the call set none (a flow may be written later, or again, without the codec at hand).
    /// </summary>
    public static MqttMessageProperties? WithCodecDefaults(MqttMessageProperties? properties, CodecDefaults defaults) =>
        defaults.ContentType is null && defaults.Format == MqttPayloadFormat.Unspecified
            ? properties
            : (properties ?? MqttMessageProperties.Empty) with
            {
                ContentType = properties?.ContentType ?? defaults.ContentType,
                PayloadFormat = properties?.PayloadFormat ?? (defaults.Format == MqttPayloadFormat.Unspecified ? null : defaults.Format),
            };

    /// <summary>The PUBLISH of a QoS 1/2 flow, with its packet identifier; <paramref name="duplicate"/> sets DUP for a resend on a resumed session.</summary>
    /// <remarks>The expiry interval it carries is what is left of it (<see cref="PendingPublish.PropertiesAt"/>).</remarks>
    public static MqttPublishPacket ForFlow(PendingPublish flow, bool duplicate)
    {
        var packet = Build(flow.Topic, flow.Payload, flow.Qos, flow.Retain, flow.PropertiesAt(Environment.TickCount64), default);
        packet.PacketIdentifier = flow.PacketId;
        packet.Dup = duplicate;
        return packet;
    }

    /// <summary>The PUBLISH packet for a message (without packet identifier); per-call properties win over the codec defaults.</summary>
    public static MqttPublishPacket Build(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, MqttMessageProperties? properties, CodecDefaults defaults)
    {
        var packet = new MqttPublishPacket
        {
            Topic = topic,
            Payload = new ReadOnlySequence<byte>(payload),
            QualityOfServiceLevel = (MqttQualityOfServiceLevel)(int)qos,
            Retain = retain,
            ContentType = properties?.ContentType ?? defaults.ContentType,
            PayloadFormatIndicator = (MqttPayloadFormatIndicator)(int)(properties?.PayloadFormat ?? defaults.Format),
        };

        if (properties is null || properties.IsEmpty)
        {
            return packet;
        }

        if (properties.MessageExpiryInterval is { } expiry)
        {
            packet.MessageExpiryInterval = expiry;
        }

        packet.ResponseTopic = properties.ResponseTopic;
        if (!properties.CorrelationData.IsEmpty)
        {
            packet.CorrelationData = properties.CorrelationData.ToArray();
        }

        if (properties.UserProperties.Count > 0)
        {
            // Declared properties are one object reused by every publish: convert them once.
            packet.UserProperties = ConvertedUserProperties.GetValue(properties, static p =>
            {
                var list = new List<MQTTnet.Packets.MqttUserProperty>(p.UserProperties.Count);
                foreach (var property in p.UserProperties)
                {
                    list.Add(new MQTTnet.Packets.MqttUserProperty(property.Name, Encoding.UTF8.GetBytes(property.Value).AsMemory()));
                }

                return list;
            });
        }

        return packet;
    }

    private static readonly ConditionalWeakTable<MqttMessageProperties, List<MQTTnet.Packets.MqttUserProperty>> ConvertedUserProperties = new();
}
