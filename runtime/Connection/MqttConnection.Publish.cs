using System.Text;
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
    /// <param name="cancellationToken">Withdraws the publish if it was not written yet (it is then never sent); once written, it may still arrive.</param>
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
        return _delivery.DeliverAsync(topic, payload, null, qos, retain, properties, default, _delivery.PolicyFor(qos, offlinePolicy), cancellationToken).AsTask();
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
}
