using TypedMqtt.Link;

namespace TypedMqtt.Delivery;

/// <summary>
/// When the end of a link counts against the oldest publish the broker had not acknowledged on it: the broker named a
/// reason that blames one publish (MQTT 5 DISCONNECT: topic name invalid 0x90, packet too large 0x95, quota exceeded
/// 0x97, payload format invalid 0x99, retain not supported 0x9A, QoS not supported 0x9B), or a 3.1.1 broker, which has
/// no reason codes, closed the connection within 2 s of that publish being written. A publish counted against twice is
/// given up (<see cref="OutboundDelivery.OnLinkLost"/>).
/// </summary>
internal static class PoisonRule
{
    private static readonly HashSet<int> BlamingReasons = [0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B];
    private const long SilentCloseWindowMs = 2000;

    /// <param name="loss">How the link ended.</param>
    /// <param name="version5">Whether the link spoke MQTT 5.</param>
    /// <param name="suspectSentAt">When the suspected publish was last written (Environment.TickCount64).</param>
    /// <returns>Whether the loss counts against the suspect.</returns>
    public static bool Blames(LinkLoss loss, bool version5, long suspectSentAt)
    {
        if (loss.Cause == LinkLossCause.ServerDisconnect)
        {
            return loss.ReasonCode is { } code && BlamingReasons.Contains(code);
        }

        // On 3.1.1 the broker just closes: seen as end of stream, or as a reset when our writes were still going out.
        return !version5 && loss.ReasonCode is null && loss.Cause is LinkLossCause.ServerClosed or LinkLossCause.Failure
            && Environment.TickCount64 - suspectSentAt <= SilentCloseWindowMs;
    }
}
