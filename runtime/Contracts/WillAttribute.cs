namespace TypedMqtt;

/// <summary>
/// Declares the contract's last will: the message the broker publishes when this client drops without a normal
/// disconnect. The topic may contain <c>{clientId}</c>; the payload of type <see cref="PayloadType"/> is given when
/// connecting (the generated options have a <c>Will(payload)</c> method).
/// </summary>
[AttributeUsage(AttributeTargets.Interface, AllowMultiple = false, Inherited = false)]
public sealed class WillAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="topic">The will topic; may use <c>{clientId}</c>.</param>
    /// <param name="payloadType">The will payload type.</param>
    public WillAttribute(string topic, Type payloadType)
    {
        Topic = topic;
        PayloadType = payloadType;
    }

    /// <summary>The will topic.</summary>
    public string Topic { get; }

    /// <summary>The will payload type.</summary>
    public Type PayloadType { get; }

    /// <summary>QoS of the will. Default 0.</summary>
    public MqttQos Qos { get; set; }

    /// <summary>Whether the broker retains the will.</summary>
    public bool Retain { get; set; }

    /// <summary>MQTT 5: seconds the broker waits before publishing the will.</summary>
    public uint DelaySeconds { get; set; }

    /// <summary>MQTT 5: will message expiry in seconds; 0 means none.</summary>
    public uint MessageExpirySeconds { get; set; }

    /// <summary>MQTT 5 content type; by default the payload codec's.</summary>
    public string? ContentType { get; set; }
}
