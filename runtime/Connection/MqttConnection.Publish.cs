using TypedMqtt.Delivery;

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
        PublishRules.Validate(topic, qos, properties, Options.ProtocolVersion);
        PublishRules.CheckServerLimits(topic, payload.Length, qos, retain, ConnectResult);
        return _delivery.DeliverAsync(topic, payload, null, qos, retain, properties, default, _delivery.PolicyFor(qos, offlinePolicy), cancellationToken).AsTask();
    }
}
