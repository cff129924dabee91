namespace TypedMqtt;

/// <summary>Quality of service of a publish or a subscription (MQTT 4.3).</summary>
public enum MqttQos
{
    /// <summary>QoS 0: delivered at most once, no acknowledgement.</summary>
    AtMostOnce = 0,

    /// <summary>QoS 1: delivered at least once; duplicates are possible.</summary>
    AtLeastOnce = 1,

    /// <summary>QoS 2: delivered exactly once through a four-step handshake.</summary>
    ExactlyOnce = 2,
}
