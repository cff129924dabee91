namespace TypedMqtt;

/// <summary>
/// Makes a contract method subscribe. The template becomes the filter (<c>{p}</c> becomes <c>+</c>, a trailing <c>{*rest}</c>
/// becomes <c>#</c>); each received topic is parsed back into typed values that, with the decoded payload, are passed to the handler.
/// Shape: <c>Task&lt;IAsyncDisposable&gt; M(Func&lt;T1..Tn, TPayload, [MqttMessageContext], [CancellationToken], Task&gt; handler, [CancellationToken cancellationToken = default])</c>
/// with one <c>Ti</c> per template parameter, in template order.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class SubscribeAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="topic">The topic template, e.g. <c>home/{room}/temperature</c>.</param>
    public SubscribeAttribute(string topic) => Topic = topic;

    /// <summary>The topic template.</summary>
    public string Topic { get; }

    /// <summary>Maximum QoS to receive with. Default 0.</summary>
    public MqttQos Qos { get; set; }

    /// <summary>MQTT 5: do not receive this client's own publishes.</summary>
    public bool NoLocal { get; set; }

    /// <summary>MQTT 5: keep the retain flag as published.</summary>
    public bool RetainAsPublished { get; set; }

    /// <summary>MQTT 5: when retained messages are sent.</summary>
    public MqttRetainHandling RetainHandling { get; set; }

    /// <summary>MQTT 5 shared subscription group: the broker spreads messages over the group (<c>$share/{group}/...</c>).</summary>
    public string? SharedGroup { get; set; }

    /// <summary>Messages buffered while the handler is busy; when full, reading pauses (nothing is dropped). Default 1,024.</summary>
    public int BufferCapacity { get; set; } = 1024;

    /// <summary>Largest payload decoded for this subscription, in bytes; 0 takes the connection's MaxInboundPayloadBytes (1 MiB by default).</summary>
    public long MaxPayloadBytes { get; set; }

    /// <summary>A custom payload codec type (see <see cref="PublishAttribute.Codec"/>).</summary>
    public Type? Codec { get; set; }
}
