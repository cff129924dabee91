namespace TypedMqtt;

/// <summary>A QoS 1/2 message kept by an outbox until the broker acknowledged it.</summary>
/// <param name="Id">The outbox's id for the message.</param>
/// <param name="Topic">Topic.</param>
/// <param name="Payload">Payload.</param>
/// <param name="Qos">QoS (1 or 2).</param>
/// <param name="Retain">Retain flag.</param>
public sealed record MqttOutboxMessage(long Id, string Topic, ReadOnlyMemory<byte> Payload, MqttQos Qos, bool Retain);

/// <summary>
/// Durable storage for QoS 1/2 publishes that were accepted but not yet acknowledged, so they survive a process crash:
/// a connection opened with the same outbox sends what it finds there. See <see cref="MqttFileOutbox"/>.
/// Implementations are called from one connection at a time.
/// </summary>
public interface IMqttOutbox : IDisposable
{
    /// <summary>Stores a message before it is sent; returns its id.</summary>
    /// <param name="topic">Topic.</param>
    /// <param name="payload">Payload.</param>
    /// <param name="qos">QoS.</param>
    /// <param name="retain">Retain flag.</param>
    /// <returns>The id to acknowledge it with.</returns>
    long Add(string topic, ReadOnlySpan<byte> payload, MqttQos qos, bool retain);

    /// <summary>Forgets a message the broker acknowledged.</summary>
    /// <param name="id">Its id.</param>
    void Acknowledge(long id);

    /// <summary>The messages stored and not acknowledged, oldest first (for example after a crash).</summary>
    /// <returns>The pending messages.</returns>
    IReadOnlyList<MqttOutboxMessage> Pending();
}
