namespace TypedMqtt;

/// <summary>How a responder (<see cref="MqttConnection.ServeAsync{TRequest, TReply}"/>) subscribes and answers.</summary>
public sealed record MqttResponderOptions
{
    /// <summary>QoS 1, no shared group, one request at a time.</summary>
    public static MqttResponderOptions Default { get; } = new();

    /// <summary>Maximum QoS of the requests received, and the QoS of the replies. Default 1.</summary>
    public MqttQos Qos { get; init; } = MqttQos.AtLeastOnce;

    /// <summary>MQTT 5 shared subscription group: responders in one group share the requests (<c>$share/{group}/...</c>).</summary>
    public string? SharedGroup { get; init; }

    /// <summary>How many requests are handled at once. Default 1: one at a time, in arrival order.</summary>
    public int MaxConcurrency { get; init; } = 1;
}
