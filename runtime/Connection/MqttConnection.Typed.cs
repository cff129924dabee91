namespace TypedMqtt;

public sealed partial class MqttConnection
{
    /// <summary>
    /// Publishes a typed payload: encodes it with <paramref name="codec"/> into a pooled buffer and publishes it. On MQTT 5
    /// the codec's content type and payload format are sent unless <paramref name="properties"/> set them.
    /// </summary>
    /// <typeparam name="T">The payload type.</typeparam>
    /// <param name="topic">The topic name.</param>
    /// <param name="payload">The payload.</param>
    /// <param name="codec">How to encode it.</param>
    /// <param name="qos">Quality of service.</param>
    /// <param name="retain">Whether the broker retains the message.</param>
    /// <param name="properties">MQTT 5 properties, or <see langword="null"/>.</param>
    /// <param name="offlinePolicy">What to do while offline; <see langword="null"/> takes the connection's policy for the QoS.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the publish is done.</returns>
    public async Task PublishAsync<T>(
        string topic,
        T payload,
        IMqttPayloadCodec<T> codec,
        MqttQos qos = MqttQos.AtMostOnce,
        bool retain = false,
        MqttMessageProperties? properties = null,
        MqttOfflinePolicy? offlinePolicy = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(codec);
        ValidatePublish(topic, qos, properties);
        using var buffer = new PooledBufferWriter();
        codec.Encode(payload, buffer);
        await PublishCoreAsync(topic, buffer.WrittenMemory, qos, retain, properties, codec.ContentType, codec.PayloadFormat, offlinePolicy, cancellationToken).ConfigureAwait(false);
    }
}
