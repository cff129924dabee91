using Microsoft.Extensions.Logging;
using TypedMqtt.Diagnostics;
using TypedMqtt.Session;

namespace TypedMqtt.Delivery;

/// <summary>
/// Outbound delivery's use of the optional <see cref="IMqttOutbox"/>: record an accepted message, forget an acknowledged
/// one (a failure to write that is logged, never thrown), and take over what a previous process left behind.
/// </summary>
internal sealed class OutboxLedger(IMqttOutbox? outbox, ILogger logger)
{
    /// <summary>Records an accepted QoS 1/2 message; its outbox id, or 0 without an outbox.</summary>
    public long Add(string topic, ReadOnlySpan<byte> payload, MqttQos qos, bool retain, MqttMessageProperties? properties) =>
        outbox is null ? 0 : outbox.Add(topic, payload, qos, retain, properties);

    /// <summary>Forgets a message the broker has (or that was given up or withdrawn).</summary>
    public void Acknowledge(long outboxId)
    {
        if (outboxId == 0 || outbox is null)
        {
            return;
        }

        try
        {
            outbox.Acknowledge(outboxId);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            // The broker has the message; failing to note that locally must not fail the publish or the connection.
            // The entry stays in the outbox, so the next process that opens it sends the message once more.
            Log.OutboxAcknowledgeFailed(logger, outboxId, e);
        }
    }

    /// <summary>
    /// Restores what a previous process left: held inbound QoS 2 identifiers and the flows it had written go into the
    /// session (resumed with their identifiers if the broker kept the session); returns the rest, oldest first, to send
    /// as new messages.
    /// </summary>
    public List<PendingPublish> Recover(SessionState session)
    {
        var fresh = new List<PendingPublish>();
        if (outbox is null)
        {
            return fresh;
        }

        session.RestoreInbound(outbox.HeldInbound());
        foreach (var message in outbox.Pending())
        {
            // Its expiry counts from when the previous process accepted it (TickCount64 does not survive a restart).
            var waited = message.AcceptedAt == default ? 0 : Math.Max(0, (long)(DateTimeOffset.UtcNow - message.AcceptedAt).TotalMilliseconds);
            var publish = new PendingPublish(message.Topic, message.Payload, message.Qos, message.Retain, message.Properties, MqttOfflinePolicy.Queue, ownsPayload: true)
            {
                AcceptedAt = Environment.TickCount64 - waited,
                OutboxId = message.Id,
                PacketId = message.Qos == MqttQos.AtMostOnce ? (ushort)0 : message.PacketId,
                Phase = message.PacketId == 0 ? FlowPhase.New : message.Released ? FlowPhase.Released : FlowPhase.Published,
            };

            if (publish.PacketId == 0 || !session.RestoreFlow(publish))
            {
                fresh.Add(publish);
            }
        }

        return fresh;
    }
}
