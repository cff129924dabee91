using System.ComponentModel;

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
        using var buffer = new PooledBufferWriter();
        codec.Encode(payload, buffer);
        await PublishAsync(topic, buffer.WrittenMemory, qos, retain, WithCodecProperties(properties, codec.ContentType, codec.PayloadFormat), offlinePolicy, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Adds a codec's content type and payload format on MQTT 5 connections, unless already set.</summary>
    /// <param name="properties">Declared and per-call properties.</param>
    /// <param name="contentType">The codec's content type.</param>
    /// <param name="format">The codec's payload format.</param>
    /// <returns>The properties to send.</returns>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public MqttMessageProperties? WithCodecProperties(MqttMessageProperties? properties, string? contentType, MqttPayloadFormat format)
    {
        if (Options.ProtocolVersion != MqttVersion.V500)
        {
            return properties;
        }

        var wantsType = contentType is not null && properties?.ContentType is null;
        var wantsFormat = format == MqttPayloadFormat.Utf8 && properties?.PayloadFormat is null;
        if (!wantsType && !wantsFormat)
        {
            return properties;
        }

        return (properties ?? MqttMessageProperties.Empty) with
        {
            ContentType = wantsType ? contentType : properties?.ContentType,
            PayloadFormat = wantsFormat ? format : properties?.PayloadFormat,
        };
    }
}
