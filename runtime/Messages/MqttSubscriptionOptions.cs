namespace TypedMqtt;

/// <summary>MQTT 5 retain handling: when the broker sends retained messages for a new subscription.</summary>
public enum MqttRetainHandling
{
    /// <summary>Send retained messages at every subscribe (the default).</summary>
    SendAtSubscribe = 0,

    /// <summary>Send retained messages only when the subscription did not exist yet.</summary>
    SendAtSubscribeIfNew = 1,

    /// <summary>Never send retained messages at subscribe.</summary>
    DoNotSend = 2,
}

/// <summary>Options of one subscription (MQTT 3.8.3.1) and how its messages are buffered locally.</summary>
public sealed record MqttSubscriptionOptions
{
    /// <summary>Defaults: QoS 0, retained messages sent, local buffer of 1,024 messages.</summary>
    public static MqttSubscriptionOptions Default { get; } = new();

    /// <summary>Maximum QoS the broker should deliver with.</summary>
    public MqttQos Qos { get; init; } = MqttQos.AtMostOnce;

    /// <summary>MQTT 5: do not receive our own publishes on this subscription.</summary>
    public bool NoLocal { get; init; }

    /// <summary>MQTT 5: keep the retain flag as published instead of clearing it on live messages.</summary>
    public bool RetainAsPublished { get; init; }

    /// <summary>MQTT 5: when retained messages are sent.</summary>
    public MqttRetainHandling RetainHandling { get; init; } = MqttRetainHandling.SendAtSubscribe;

    /// <summary>MQTT 5 shared subscription group: messages are spread over the group's members (<c>$share/{group}/{filter}</c>).</summary>
    public string? SharedGroup { get; init; }

    /// <summary>
    /// Messages buffered for this subscription while its handler is busy. Handlers of one subscription run one at a time,
    /// in order. When the buffer is full, reading from the broker pauses (back pressure) until the handler catches up:
    /// nothing is dropped, and other subscriptions' buffers keep draining.
    /// </summary>
    public int BufferCapacity { get; init; } = 1024;

    /// <summary>
    /// Largest payload this subscription decodes; a larger one goes to <see cref="MqttConnection.MessageFailed"/> without
    /// reaching the decoder or the handler. <see langword="null"/> takes <see cref="MqttConnectionOptions.MaxInboundPayloadBytes"/>.
    /// </summary>
    public long? MaxPayloadBytes { get; init; }

    /// <summary>True when any MQTT 5-only option is set.</summary>
    public bool UsesVersion5Features => NoLocal || RetainAsPublished || RetainHandling != MqttRetainHandling.SendAtSubscribe || SharedGroup is not null;
}
