namespace TypedMqtt;

/// <summary>A QoS 1/2 message kept by an outbox until the broker acknowledged it.</summary>
/// <param name="Id">The outbox's id for the message.</param>
/// <param name="Topic">Topic.</param>
/// <param name="Payload">Payload.</param>
/// <param name="Qos">QoS (1 or 2).</param>
/// <param name="Retain">Retain flag.</param>
public sealed record MqttOutboxMessage(long Id, string Topic, ReadOnlyMemory<byte> Payload, MqttQos Qos, bool Retain)
{
    /// <summary>The packet identifier its flow had when it was last written (0: never written, or its session was lost).</summary>
    public ushort PacketId { get; init; }

    /// <summary>QoS 2: the broker had answered PUBREC (the flow resumes at PUBREL).</summary>
    public bool Released { get; init; }

    /// <summary>Its MQTT 5 properties (message expiry, content type, response topic, correlation data, user properties), or null.</summary>
    public MqttMessageProperties? Properties { get; init; }

    /// <summary>When it was accepted: its message expiry counts from here, across a restart (default: unknown, no expiry is applied).</summary>
    public DateTimeOffset AcceptedAt { get; init; }
}

/// <summary>
/// Durable storage for QoS 1/2 publishes that were accepted but not yet acknowledged, so they survive a process crash:
/// a connection opened with the same outbox sends what it finds there. See <see cref="MqttFileOutbox"/>.
/// Implementations are called from one connection at a time.
/// </summary>
public interface IMqttOutbox : IDisposable
{
    /// <summary>Stores a message before it is sent, with when it was accepted; returns its id.</summary>
    /// <param name="topic">Topic.</param>
    /// <param name="payload">Payload.</param>
    /// <param name="qos">QoS.</param>
    /// <param name="retain">Retain flag.</param>
    /// <param name="properties">Its MQTT 5 properties, to send again with it (its message expiry counts from now).</param>
    /// <returns>The id to acknowledge it with.</returns>
    long Add(string topic, ReadOnlySpan<byte> payload, MqttQos qos, bool retain, MqttMessageProperties? properties = null);

    /// <summary>Forgets a message the broker acknowledged.</summary>
    /// <param name="id">Its id.</param>
    void Acknowledge(long id);

    /// <summary>The messages stored and not acknowledged, oldest first (for example after a crash).</summary>
    /// <returns>The pending messages.</returns>
    IReadOnlyList<MqttOutboxMessage> Pending();

    /// <summary>
    /// Records where a stored message's flow stands: the packet identifier it is written with, and whether PUBREC came.
    /// A process that restarts with the same client id and a persistent session then resumes the flow (PUBLISH with DUP
    /// and the same identifier, or PUBREL) instead of sending the message again as a new one. Called before the packet is
    /// written. The default keeps nothing (flows restart as new messages after a crash).
    /// </summary>
    /// <param name="id">The message's outbox id.</param>
    /// <param name="packetId">Its packet identifier (0: the session was lost; the flow starts again).</param>
    /// <param name="released">Whether the broker answered PUBREC.</param>
    void RecordFlow(long id, ushort packetId, bool released)
    {
    }

    /// <summary>
    /// Records that an inbound QoS 2 message is held (received, not yet released by PUBREL) or released, so a process that
    /// restarts on a persistent session does not deliver a resent copy again. The default keeps nothing.
    /// </summary>
    /// <param name="packetId">The broker's packet identifier.</param>
    /// <param name="held">True when received, false when released.</param>
    void RecordInbound(ushort packetId, bool held)
    {
    }

    /// <summary>The inbound QoS 2 identifiers held when the outbox was last written.</summary>
    /// <returns>The identifiers.</returns>
    IReadOnlyCollection<ushort> HeldInbound() => [];
}
