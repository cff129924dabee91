namespace TypedMqtt;

/// <summary>
/// A publish was given up because the broker refused it by closing the connection right after it, twice (for example a
/// packet over the server's maximum size, or a QoS the server does not allow). Its task failed with the same reason; the
/// messages behind it are sent on.
/// </summary>
public sealed class MqttPublishRejectedEventArgs : EventArgs
{
    /// <summary>Creates the event arguments.</summary>
    /// <param name="topic">The publish's topic.</param>
    /// <param name="reason">Why it was given up.</param>
    /// <param name="reasonCode">The broker's DISCONNECT reason code, if it sent one.</param>
    public MqttPublishRejectedEventArgs(string topic, string reason, int? reasonCode)
    {
        Topic = topic;
        Reason = reason;
        ReasonCode = reasonCode;
    }

    /// <summary>The topic of the publish that was given up.</summary>
    public string Topic { get; }

    /// <summary>Why it was given up.</summary>
    public string Reason { get; }

    /// <summary>The broker's DISCONNECT reason code (MQTT 5), or null when it closed the connection without one.</summary>
    public int? ReasonCode { get; }
}
