namespace TypedMqtt;

/// <summary>
/// Makes a contract method a request that expects one reply (MQTT 5 request/response), declared once for both sides:
/// the generated client's method publishes the request with a response topic and correlation data and returns the typed
/// reply; the generated <c>Serve{Name}Async(handler)</c> answers such requests. The topic is a template as in
/// <see cref="PublishAttribute"/>; the one parameter left after the topic parameters is the request payload (none sends
/// an empty request).
/// Shape: <c>Task&lt;TReply&gt; M(topic parameters..., [TRequest request], [MqttMessageProperties? properties = null],
/// [TimeSpan? timeout = null], [CancellationToken cancellationToken = default])</c>; a null (or zero) timeout takes
/// <see cref="TimeoutSeconds"/>, else the connection's <see cref="MqttConnectionOptions.RequestTimeout"/>. MQTT 5 only: on a contract pinned to
/// 3.1.1 it is a compile-time error.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class RequestAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="topic">The request topic template, e.g. <c>devices/{device}/reboot</c>.</param>
    public RequestAttribute(string topic) => Topic = topic;

    /// <summary>The request topic template.</summary>
    public string Topic { get; }

    /// <summary>
    /// Quality of service of the request, of the responder's subscription and of the reply. Default 1 (at least once): a
    /// request lost on the way is only a timeout, and a responder must tolerate a repeated request either way.
    /// </summary>
    public MqttQos Qos { get; set; } = MqttQos.AtLeastOnce;

    /// <summary>
    /// How long the requester waits for the reply, in seconds; 0 (the default) takes the connection's
    /// <see cref="MqttConnectionOptions.RequestTimeout"/> (30 s). A <c>TimeSpan?</c> parameter overrides both per call.
    /// </summary>
    public int TimeoutSeconds { get; set; }

    /// <summary>MQTT 5 shared subscription group of the responders: the broker gives each request to one of them.</summary>
    public string? SharedGroup { get; set; }

    /// <summary>How many requests one responder handles at once. Default 1: one at a time, in arrival order.</summary>
    public int MaxConcurrency { get; set; } = 1;

    /// <summary>A custom codec for the request payload (see <see cref="PublishAttribute.Codec"/>).</summary>
    public Type? Codec { get; set; }

    /// <summary>A custom codec for the reply payload (see <see cref="PublishAttribute.Codec"/>).</summary>
    public Type? ReplyCodec { get; set; }
}
