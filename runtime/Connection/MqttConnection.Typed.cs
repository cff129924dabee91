using TypedMqtt.Delivery;

namespace TypedMqtt;

public sealed partial class MqttConnection
{
    /// <summary>
    /// Publishes a typed payload: encodes it with <paramref name="codec"/> into a pooled buffer and publishes it. On MQTT 5,
    /// with <see cref="MqttConnectionOptions.SendCodecContentType"/>, the codec's content type and payload format are sent
    /// unless <paramref name="properties"/> set them.
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
    /// <param name="topicTemplate">The topic template, naming the span and metrics (see <see cref="PublishAsync(string, ReadOnlyMemory{byte}, MqttQos, bool, MqttMessageProperties?, MqttOfflinePolicy?, CancellationToken, string?)"/>).</param>
    /// <returns>A task that completes when the publish is done.</returns>
    public Task PublishAsync<T>(
        string topic,
        T payload,
        IMqttPayloadCodec<T> codec,
        MqttQos qos = MqttQos.AtMostOnce,
        bool retain = false,
        MqttMessageProperties? properties = null,
        MqttOfflinePolicy? offlinePolicy = null,
        CancellationToken cancellationToken = default,
        string? topicTemplate = null) =>
        Diagnostics.MqttTelemetry.ObservesPublish
            ? PublishEncodedObserved(topic, payload, codec, qos, retain, properties, offlinePolicy, cancellationToken, topicTemplate)
            : PublishEncoded(topic, payload, codec, qos, retain, properties, offlinePolicy, cancellationToken);

    // Its own method: the closure is allocated only when telemetry listens, never on the plain path.
    private Task PublishEncodedObserved<T>(string topic, T payload, IMqttPayloadCodec<T> codec, MqttQos qos, bool retain, MqttMessageProperties? properties, MqttOfflinePolicy? offlinePolicy, CancellationToken cancellationToken, string? topicTemplate) =>
        ObservePublish(topic, topicTemplate, qos, properties, traced => PublishEncoded(topic, payload, codec, qos, retain, traced, offlinePolicy, cancellationToken));

    private Task PublishEncoded<T>(string topic, T payload, IMqttPayloadCodec<T> codec, MqttQos qos, bool retain, MqttMessageProperties? properties, MqttOfflinePolicy? offlinePolicy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(codec);
        properties = PublishRules.Validate(topic, qos, properties, Options.ProtocolVersion);

        // Encoded into an array rented from the pool; the delivery returns it when the publish is done.
        var (rented, length) = PooledBufferWriter.Encode(payload, codec);
        var defaults = Options.SendCodecContentType && Options.ProtocolVersion == MqttVersion.V500 ? new CodecDefaults(codec.ContentType, codec.PayloadFormat) : default;
        try
        {
            PublishRules.CheckServerLimits(topic, length, qos, retain, properties, defaults, Options.ProtocolVersion == MqttVersion.V500, ConnectResult);
        }
        catch
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            throw;
        }

        return _delivery.DeliverAsync(topic, rented.AsMemory(0, length), rented, qos, retain, properties, defaults, _delivery.PolicyFor(qos, offlinePolicy), cancellationToken);
    }
}
