using System.Buffers;
using System.Text;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using TypedMqtt.Delivery;
using TypedMqtt.Topics;

namespace TypedMqtt;

public sealed partial class MqttConnection
{
    /// <summary>
    /// Publishes a message. The topic and properties are validated first: an invalid one throws and nothing is sent.
    /// Completes when the message was written (QoS 0), acknowledged (QoS 1) or completed (QoS 2). While the connection is
    /// down, or if it drops before the acknowledgement, the publish waits in the offline queue and is sent after reconnect
    /// (see <see cref="MqttConnectionOptions.OfflineQueue"/>); the task completes when it is finally acknowledged.
    /// </summary>
    /// <param name="topic">The topic name; no wildcards.</param>
    /// <param name="payload">The payload bytes; they may be reused once the task completes.</param>
    /// <param name="qos">Quality of service.</param>
    /// <param name="retain">Whether the broker retains the message for late subscribers.</param>
    /// <param name="properties">MQTT 5 message properties, or <see langword="null"/>.</param>
    /// <param name="offlinePolicy">What to do while offline; <see langword="null"/> takes the connection's policy for the QoS.</param>
    /// <param name="cancellationToken">Cancels the wait (a queued message may still be sent).</param>
    /// <returns>A task that completes when the publish is done.</returns>
    /// <exception cref="ArgumentException">The topic or a property is invalid.</exception>
    /// <exception cref="MqttOperationException">The connection is down, the server's limits forbid it, or the broker refused it.</exception>
    public Task PublishAsync(
        string topic,
        ReadOnlyMemory<byte> payload,
        MqttQos qos = MqttQos.AtMostOnce,
        bool retain = false,
        MqttMessageProperties? properties = null,
        MqttOfflinePolicy? offlinePolicy = null,
        CancellationToken cancellationToken = default)
    {
        ValidatePublish(topic, qos, properties);
        CheckServerLimits(topic, payload.Length, qos, retain);
        return DeliverAsync(topic, payload, null, qos, retain, properties, default, PolicyFor(qos, offlinePolicy), cancellationToken).AsTask();
    }

    /// <summary>Checks topic, QoS and properties; throws before anything is queued or sent.</summary>
    private void ValidatePublish(string topic, MqttQos qos, MqttMessageProperties? properties)
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
            if (Options.ProtocolVersion != MqttVersion.V500)
            {
                throw new ArgumentException($"Message properties are an MQTT 5 feature but the connection uses {MqttConnectionOptionsValidator.Describe(Options.ProtocolVersion)}.", nameof(properties));
            }

            var propertyError = MqttConnectionOptionsValidator.CheckMessageProperties(properties, "Message");
            if (propertyError is not null)
            {
                throw new ArgumentException(propertyError, nameof(properties));
            }
        }
    }

    /// <summary>Content type and payload format a codec implies, sent on MQTT 5 unless the message's properties set them.</summary>
    private readonly record struct CodecDefaults(string? ContentType, MqttPayloadFormat Format);

    private void CheckServerLimits(string topic, int payloadLength, MqttQos qos, bool retain)
    {
        var server = ConnectResult;
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
            // Fixed header (up to 5) + topic length prefix + topic + packet id + properties length estimate.
            long size = 5 + 2 + Encoding.UTF8.GetByteCount(topic) + 2 + 64 + payloadLength;
            if (size > maximum)
            {
                throw new MqttOperationException($"Publishing {payloadLength} bytes to '{topic}' is refused locally: the packet would exceed the server's maximum packet size of {maximum} bytes.", 0x95);
            }
        }
    }

    // One message object per thread, refilled for every publish: MqttClient.PublishAsync copies the message into its own
    // PUBLISH packet before it returns (it is not an async method; its async parts take the packet), so the object is free
    // again as soon as the call has returned its task. Saves an MqttApplicationMessage per publish.
    [ThreadStatic]
    private static MqttApplicationMessage? _threadMessage;

    /// <summary>The message to hand to MQTTnet's PublishAsync right away; valid until the next call on this thread.</summary>
    private static MqttApplicationMessage CreateMessage(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, MqttMessageProperties? properties, CodecDefaults defaults)
    {
        var message = _threadMessage ??= new MqttApplicationMessage();
        message.Topic = topic;
        message.Payload = new ReadOnlySequence<byte>(payload);
        message.QualityOfServiceLevel = (MqttQualityOfServiceLevel)(int)qos;
        message.Retain = retain;
        message.Dup = false;
        message.ContentType = properties?.ContentType ?? defaults.ContentType;
        message.MessageExpiryInterval = 0;
        message.ResponseTopic = null;
        message.CorrelationData = null;
        message.UserProperties = null;
        message.SubscriptionIdentifiers = null;
        message.TopicAlias = 0;

        var format = properties?.PayloadFormat ?? defaults.Format;
        message.PayloadFormatIndicator = (MqttPayloadFormatIndicator)(int)format;

        if (properties is null || properties.IsEmpty)
        {
            return message;
        }

        if (properties.MessageExpiryInterval is { } expiry)
        {
            message.MessageExpiryInterval = expiry;
        }

        message.ResponseTopic = properties.ResponseTopic;
        if (!properties.CorrelationData.IsEmpty)
        {
            message.CorrelationData = properties.CorrelationData.ToArray();
        }

        if (properties.UserProperties.Count > 0)
        {
            // Declared properties are one object reused by every publish: convert them once.
            message.UserProperties = ConvertedUserProperties.GetValue(properties, static p =>
            {
                var list = new List<MQTTnet.Packets.MqttUserProperty>(p.UserProperties.Count);
                foreach (var property in p.UserProperties)
                {
                    list.Add(new MQTTnet.Packets.MqttUserProperty(property.Name, Encoding.UTF8.GetBytes(property.Value).AsMemory()));
                }

                return list;
            });
        }

        return message;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<MqttMessageProperties, List<MQTTnet.Packets.MqttUserProperty>> ConvertedUserProperties = new();
}
