namespace TypedMqtt;

/// <summary>
/// Makes a contract method publish. The topic is a template whose <c>{name}</c> levels bind to the method parameters of
/// that name (a trailing <c>{*name}</c> takes the rest of the topic, '/' included); the one remaining parameter is the payload.
/// Shape: <c>Task M(topic parameters..., TPayload payload, [MqttMessageProperties? properties = null], [CancellationToken cancellationToken = default])</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class PublishAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="topic">The topic template, e.g. <c>home/{room}/temperature</c>.</param>
    public PublishAttribute(string topic) => Topic = topic;

    /// <summary>The topic template.</summary>
    public string Topic { get; }

    /// <summary>Quality of service. Default 0.</summary>
    public MqttQos Qos { get; set; }

    /// <summary>Whether the broker retains the message for late subscribers.</summary>
    public bool Retain { get; set; }

    /// <summary>MQTT 5 message expiry in seconds; 0 means no expiry.</summary>
    public uint MessageExpirySeconds { get; set; }

    /// <summary>MQTT 5 content type; by default the payload codec's (for example <c>application/json</c>).</summary>
    public string? ContentType { get; set; }

    /// <summary>MQTT 5 response topic sent with every message (a literal topic, no wildcards).</summary>
    public string? ResponseTopic { get; set; }

    /// <summary>
    /// What this operation does while the connection is down; when not set, the connection's
    /// <see cref="MqttOfflineQueueOptions"/> policy for the QoS applies (QoS 0 drops the oldest, QoS 1/2 queue).
    /// </summary>
    public MqttOfflinePolicy OfflinePolicy { get; set; }

    /// <summary>
    /// A custom payload codec: a type with a public parameterless constructor implementing
    /// <see cref="IMqttPayloadCodec{T}"/> for the payload type.
    /// </summary>
    public Type? Codec { get; set; }
}
