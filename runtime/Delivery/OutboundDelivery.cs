using System.Buffers;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using TypedMqtt.Diagnostics;
using TypedMqtt.Link;
using TypedMqtt.Session;

namespace TypedMqtt.Delivery;

/// <summary>
/// Outbound messages: one send path for every publish. A publish is written at once when a link is ready and nothing
/// waits ahead of it, otherwise it waits in the <see cref="OutboundQueue"/> (offline, or for an in-flight slot) and a
/// drain writes the queue in order. Once written, a QoS 1/2 publish is a flow in the <see cref="SessionState"/>: it
/// keeps its packet identifier across links and completes on PUBACK or PUBCOMP. When a link is resumed with the
/// session present, the unfinished flows are written again first, in their original order: PUBLISH with DUP and the
/// original identifier, or PUBREL for a flow past PUBREC. Without a session they start again as new messages.
/// </summary>
internal sealed class OutboundDelivery
{
    private readonly DeliverySettings _settings;
    private readonly SessionState _session;
    private readonly LinkHolder _links;
    private readonly ILogger _logger;
    private readonly OutboundQueue _queue;
    private readonly OutboxLedger _outbox;

    // Publishes accepted from a caller whose task has not completed (queued, being written, in flight, or acknowledged
    // and about to be told: the reader completes an acknowledged publish once its next read is pending), less the
    // withdrawn ones. FlushAsync waits for it, so that every task accepted before the flush has completed when it returns.
    private readonly StrongBox<int> _unfinished = new();
    private int _draining;

    public OutboundDelivery(DeliverySettings settings, SessionState session, LinkHolder links, ILogger logger)
    {
        _settings = settings;
        _session = session;
        _links = links;
        _logger = logger;
        _queue = new OutboundQueue(Math.Max(settings.OfflineQueue.Capacity, 1));
        _outbox = new OutboxLedger(settings.Outbox, logger);
    }

    /// <summary>Raised when a publish is given up because the broker refused it by closing the connection.</summary>
    public event Action<string, string, int?>? PublishRejected;

    /// <summary>What was completed, resent, queued, dropped and rejected.</summary>
    public DeliveryCounters Counters { get; } = new();

    public int QueueLength => _queue.Count;

    public MqttOfflinePolicy PolicyFor(MqttQos qos, MqttOfflinePolicy? chosen) =>
        chosen ?? (qos == MqttQos.AtMostOnce ? _settings.OfflineQueue.AtMostOncePolicy : _settings.OfflineQueue.ReliablePolicy);

    /// <summary>Takes over what a previous process left in the outbox: its flows and held inbound identifiers; the rest is sent once connected.</summary>
    public void RecoverOutbox()
    {
        foreach (var publish in _outbox.Recover(_session))
        {
            _queue.Requeue(publish);
        }
    }

    /// <summary>
    /// Delivers one publish: written now when a link is ready and nothing waits ahead, otherwise queued by its offline
    /// policy. QoS 0 completes when written; QoS 1/2 on the final acknowledgement, however many links that takes.
    /// Cancelling withdraws a publish not yet written (it is never sent); once written, it may still arrive, and the
    /// task says so. <paramref name="rented"/>, when given, is the pooled array under <paramref name="payload"/>; it goes
    /// back to the pool when the publish is done. A QoS 1/2 publish the caller cannot cancel returns its flow's own task
    /// (<see cref="DeliverFlow"/>); the rest runs in a pooled state machine, so a QoS 0 publish costs nothing.
    /// </summary>
    public Task DeliverAsync(string topic, ReadOnlyMemory<byte> payload, byte[]? rented, MqttQos qos, bool retain, MqttMessageProperties? properties, CodecDefaults defaults, MqttOfflinePolicy policy, CancellationToken cancellationToken) =>
        qos == MqttQos.AtMostOnce || cancellationToken.CanBeCanceled
            ? DeliverWaitingAsync(topic, payload, rented, qos, retain, properties, defaults, policy, cancellationToken).AsTask()
            : DeliverFlow(topic, payload, rented, qos, retain, properties, defaults, policy);

    /// <summary>
    /// A QoS 1/2 publish that cannot be cancelled: the caller's task is the flow's completion itself (no state machine
    /// waits for it on the way, and no task wraps one).
    /// </summary>
    private Task DeliverFlow(string topic, ReadOnlyMemory<byte> payload, byte[]? rented, MqttQos qos, bool retain, MqttMessageProperties? properties, CodecDefaults defaults, MqttOfflinePolicy policy)
    {
        try
        {
            return Accept(topic, payload, rented, qos, retain, properties, defaults, policy, out _).Completion; // the write never throws
        }
#pragma warning disable CA1031 // Whatever failed is the caller's task's failure, as from an async method.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return Task.FromException(e);
        }
    }

    /// <summary>
    /// Accepts a publish as a flow (QoS 0 too, when it cannot be written at once): counts it as unfinished, records a QoS
    /// 1/2 one in the outbox, and writes it now (<paramref name="write"/>) when a link is ready, nothing waits ahead and an
    /// in-flight slot is free; otherwise it waits in the queue. The publish takes <paramref name="rented"/> (see
    /// <see cref="PendingPublish.Adopt"/>). On a failure it is withdrawn, and the exception goes to the caller.
    /// </summary>
    private PendingPublish Accept(string topic, ReadOnlyMemory<byte> payload, byte[]? rented, MqttQos qos, bool retain, MqttMessageProperties? properties, CodecDefaults defaults, MqttOfflinePolicy policy, out ValueTask write)
    {
        // Written at once only when nothing waits ahead: not in the queue, and no drain busy writing what it took from it.
        var link = _links.Ready;
        var direct = link is not null && _queue.Count == 0 && Volatile.Read(ref _draining) == 0;
        var publish = new PendingPublish(topic, payload, qos, retain, PublishPackets.WithCodecDefaults(properties, defaults), policy, ownsPayload: false);
        publish.Adopt(rented); // before any write: the acknowledgement may settle it at once
        publish.CountIn(_unfinished);
        try
        {
            if (qos != MqttQos.AtMostOnce)
            {
                publish.OutboxId = _outbox.Add(topic, payload.Span, qos, retain, publish.Properties);
            }

            // A publish that would have to wait for an in-flight slot waits in the queue instead: only the drain, which
            // writes one publish after the other, may wait for slots, so publishes are written in the order they came.
            if (direct && publish.TryTake() && link!.InFlight.Wait(0, CancellationToken.None))
            {
                write = WriteFlowAsync(link, publish, first: true);
            }
            else
            {
                publish.Untake();
                Enqueue(publish);
                write = default;
            }

            return publish;
        }
        catch
        {
            publish.TryWithdraw(); // no longer unfinished, and its array goes back
            throw;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask DeliverWaitingAsync(string topic, ReadOnlyMemory<byte> payload, byte[]? rented, MqttQos qos, bool retain, MqttMessageProperties? properties, CodecDefaults defaults, MqttOfflinePolicy policy, CancellationToken cancellationToken)
    {
        try
        {
            if (qos == MqttQos.AtMostOnce && _links.Ready is { } link && _queue.Count == 0 && Volatile.Read(ref _draining) == 0)
            {
                await SendAtMostOnceAsync(link, topic, PublishPackets.Build(topic, payload, qos, retain, properties, defaults), cancellationToken).ConfigureAwait(false);
                return;
            }

            var adopted = rented;
            rented = null; // the publish gives it back from here on
            var publish = Accept(topic, payload, adopted, qos, retain, properties, defaults, policy, out var write);
            await write.ConfigureAwait(false);

            try
            {
                await publish.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !publish.IsDone)
            {
                if (publish.TryWithdraw())
                {
                    _queue.Remove(publish);
                    _outbox.Acknowledge(publish.OutboxId);
                    throw new OperationCanceledException($"The publish to '{topic}' was cancelled before it was written: it was withdrawn and is never sent.", cancellationToken);
                }

                // The flow goes on (and may be resent) from its array, which it gives back when it settles.
                throw new OperationCanceledException($"The publish to '{topic}' was cancelled after it was written: the broker may still receive it, and it is resent until acknowledged.", cancellationToken);
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private async ValueTask SendAtMostOnceAsync(MqttLink link, string topic, MqttPublishPacket packet, CancellationToken cancellationToken)
    {
        try
        {
            await link.SendAsync(packet, cancellationToken).ConfigureAwait(false);
            Counters.AddCompleted();
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // At most once: a QoS 0 message caught in a dropping connection is gone, as the protocol allows.
            throw ConnectionDropped(topic, e);
        }
    }

    /// <summary>
    /// Writes the PUBLISH of a flow that holds an in-flight slot on <paramref name="link"/>. A failed write ends the
    /// link; the flow stays in the session and is written again on the next one.
    /// </summary>
    private async ValueTask WriteFlowAsync(MqttLink link, PendingPublish publish, bool first)
    {
        publish.SlotLink = link;
        _session.BeginFlow(publish, link.Number);
        Counters.ObserveInFlight(link.InFlightCount);
        if (!first)
        {
            Counters.AddResent();
        }

        try
        {
            await link.SendAsync(PublishPackets.ForFlow(publish, duplicate: false)).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The link reported its own end; the flow is resent on the next one.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>
    /// PUBACK, PUBREC or PUBCOMP from the broker. Returns the publish it completed successfully, for the caller to
    /// complete (<see cref="PendingPublish.Complete"/>, or <see cref="PendingPublish.CompleteHere"/> where that is safe).
    /// </summary>
    public PendingPublish? OnAcknowledgement(MqttLink link, MqttPacketWithIdentifier packet)
    {
        var id = packet.PacketIdentifier;
        switch (packet)
        {
            case MqttPubAckPacket ack:
                return Settle(_session.Finish(id, MqttQos.AtLeastOnce), (int)ack.ReasonCode, ack.ReasonString);
            case MqttPubRecPacket received when (int)received.ReasonCode >= 0x80:
                // A refusal ends a QoS 2 flow at PUBREC: no PUBREL follows.
                var refused = _session.Finish(id, MqttQos.ExactlyOnce, refused: true);
                return Settle(refused, (int)received.ReasonCode, received.ReasonString);
            case MqttPubRecPacket:
                var released = _session.Release(id, link.Number);
                _ = SendReleaseAsync(link, id, released is not null || !_settings.Version5);
                return null;
            case MqttPubCompPacket complete:
                // 0x92 (identifier not found) answers a PUBREL the broker had already completed: the message was delivered.
                var code = complete.ReasonCode == MqttPubCompReasonCode.PacketIdentifierNotFound ? 0 : (int)complete.ReasonCode;
                return Settle(_session.Finish(id, MqttQos.ExactlyOnce), code, complete.ReasonString);
            default:
                return null;
        }
    }

    private static async Task SendReleaseAsync(MqttLink link, ushort id, bool known)
    {
        try
        {
            await link.SendAsync(new MqttPubRelPacket
            {
                PacketIdentifier = id,
                ReasonCode = known ? MqttPubRelReasonCode.Success : MqttPubRelReasonCode.PacketIdentifierNotFound,
            }).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The link reported its own end; the PUBREL is resent on the next one.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>Ends a flow: fails a refused publish, and returns one that succeeded (not completed yet).</summary>
    private PendingPublish? Settle(PendingPublish? publish, int reasonCode, string? reasonString)
    {
        if (publish is null)
        {
            return null;
        }

        publish.ReleaseSlot();
        _outbox.Acknowledge(publish.OutboxId);
        if (reasonCode >= 0x80)
        {
            var serverSays = string.IsNullOrEmpty(reasonString) ? string.Empty : $" The server said: \"{reasonString}\".";
            Counters.AddRejected();
            publish.Fail(new MqttOperationException($"The broker refused the publish to '{publish.Topic}' with reason {MqttReasonText.PublishReason(reasonCode)} (0x{reasonCode:X2}).{serverSays}", reasonCode));
            return null;
        }

        Counters.AddCompleted();
        return publish;
    }

    /// <summary>
    /// Makes <paramref name="link"/> ready for new work after CONNACK. With the session present, the unfinished flows are
    /// written again first, in their original order and never more at once than the server's Receive Maximum; without,
    /// flows past PUBREC are done and the others go back to the front of the queue as new messages. Then
    /// <paramref name="beforeReady"/> runs (what it hands the link is written before anything queued) and the queue drains.
    /// </summary>
    public async Task ResumeAsync(MqttLink link, bool sessionPresent, Action? beforeReady = null)
    {
        if (!sessionPresent)
        {
            var (finished, restart) = _session.StartNew();
            foreach (var flow in finished)
            {
                Settle(flow, 0, null)?.Complete();
            }

            foreach (var flow in restart)
            {
                flow.ReleaseSlot();
                flow.Untake();
                _queue.Requeue(flow);
            }
        }
        else
        {
            foreach (var flow in _session.Unfinished())
            {
                // A resent flow counts against the server's Receive Maximum, which may be lower than on the last link
                // (MQTT-3.3.4-7): the rest wait for acknowledgements here.
                try
                {
                    await link.InFlight.WaitAsync(link.Stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                flow.SlotLink = link;
                Counters.AddResent();
                MqttPacket packet = _session.Resend(flow, link.Number) == FlowPhase.Released
                    ? new MqttPubRelPacket { PacketIdentifier = flow.PacketId }
                    : PublishPackets.ForFlow(flow, duplicate: true);

                try
                {
                    await link.SendAsync(packet).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // The link reported its own end; the next one resumes again.
                catch (Exception)
#pragma warning restore CA1031
                {
                    return;
                }
            }
        }

        beforeReady?.Invoke();
        _links.SetReady(link);
        if (_queue.Count > 0)
        {
            StartDrain();
        }
    }

    /// <summary>QoS 1/2 publishes sent and not yet acknowledged.</summary>
    public int InFlight => _session.OutboundCount;

    /// <summary>Whether accepted publishes still wait to be written (queued, or being drained).</summary>
    private bool Unwritten => _queue.Count > 0 || Volatile.Read(ref _draining) != 0;

    /// <summary>
    /// Waits until nothing is queued, every QoS 1/2 publish is acknowledged and every caller's task has completed
    /// (checked every 5 ms). The queue and the session also hold what a previous process left in the outbox, which has no caller.
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        while (Volatile.Read(ref _unfinished.Value) > 0 || Unwritten || _session.OutboundCount > 0)
        {
            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Waits until everything queued was written (or the link is gone), at most <paramref name="timeout"/>: a graceful close sends what was accepted before DISCONNECT.</summary>
    public async Task WrittenAsync(TimeSpan timeout)
    {
        var until = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (Unwritten && _links.Ready is { IsLost: false } && Environment.TickCount64 < until)
        {
            await Task.Delay(1).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A link ended. When the broker named a reason that blames one publish (packet too large, QoS or retain not
    /// supported, bad topic or payload format, quota), or closed a 3.1.1 connection without a word, the oldest publish it
    /// had not acknowledged is suspected; a publish suspected twice is given up, so everything behind it flows on.
    /// </summary>
    public void OnLinkLost(MqttLink link, LinkLoss loss)
    {
        if (_session.OldestUnacknowledged(link.Number) is not { } suspect || !PoisonRule.Blames(loss, _settings.Version5, suspect.SentAt))
        {
            return;
        }

        if (++suspect.Suspicions < 2)
        {
            return;
        }

        _session.Abandon(suspect);
        suspect.SlotLink = null;
        _outbox.Acknowledge(suspect.OutboxId);
        Counters.AddRejected();
        var reason = $"the broker closed the connection right after it, twice ({loss.Reason})";
        Log.PublishRejected(_logger, _settings.Address, suspect.Topic, reason);
        suspect.Fail(new MqttOperationException($"The publish to '{suspect.Topic}' was given up after {suspect.Attempts} attempts: {reason}. The messages behind it are sent on.", loss.ReasonCode));
        PublishRejected?.Invoke(suspect.Topic, reason, loss.ReasonCode);
    }

    private void Enqueue(PendingPublish publish)
    {
        publish.OwnPayload();
        PendingPublish? displaced;
        try
        {
            displaced = _queue.Enqueue(publish);
        }
        catch (MqttOperationException)
        {
            Counters.AddRejected();
            _outbox.Acknowledge(publish.OutboxId);
            throw; // Accept withdraws it: no longer unfinished, so FlushAsync does not wait for it

        }

        Counters.AddQueued();
        if (displaced is not null)
        {
            Counters.AddDropped();
            _outbox.Acknowledge(displaced.OutboxId);
            displaced.Fail(new MqttOperationException(displaced.Policy == MqttOfflinePolicy.KeepLatestPerTopic
                ? $"The publish to '{displaced.Topic}' was superseded by a newer one for the same topic while offline (KeepLatestPerTopic)."
                : $"The publish to '{displaced.Topic}' was dropped: the offline queue was full and the policy is DropOldest."));
        }

        if (_links.Ready is not null)
        {
            StartDrain();
        }
    }

    private void StartDrain()
    {
        if (Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
        {
            _ = Task.Run(DrainAsync);
        }
    }

    /// <summary>Writes the queue in order, as many QoS 1/2 in flight as the server allows, until it is empty or the link drops.</summary>
    private async Task DrainAsync()
    {
        while (true)
        {
            var link = _links.Ready;
            while (link is not null && !link.IsLost && _queue.TryDequeue(out var publish))
            {
                if (!publish.TryTake())
                {
                    continue; // withdrawn by its caller
                }

                if (publish.Attempts == 0 && publish.HasExpired(Environment.TickCount64))
                {
                    Expire(publish);
                    continue;
                }

                if (publish.Qos == MqttQos.AtMostOnce)
                {
                    await WriteQueuedAtMostOnceAsync(link, publish).ConfigureAwait(false);
                    continue;
                }

                try
                {
                    await link.InFlight.WaitAsync(link.Stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    publish.Untake();
                    _queue.Requeue(publish);
                    break;
                }

                await WriteFlowAsync(link, publish, first: publish.Attempts == 0).ConfigureAwait(false);
            }

            // A full fence between giving up the drain and reading the queue's length (a lock-free snapshot): with only a
            // release write the read could move ahead of it and miss a publish queued by a caller whose StartDrain still
            // saw the drain running, leaving that publish unsent until the next one.
            Interlocked.Exchange(ref _draining, 0);
            if (_queue.Count == 0 || _links.Ready is null || Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
            {
                return;
            }
        }
    }

    /// <summary>A queued message whose expiry interval ran out before it could be written: never sent, and its task says why.</summary>
    private void Expire(PendingPublish publish)
    {
        _outbox.Acknowledge(publish.OutboxId);
        Counters.AddDropped();
        var waited = (Environment.TickCount64 - publish.AcceptedAt) / 1000.0;
        publish.Fail(new MqttOperationException(
            $"The message to '{publish.Topic}' expired before it could be sent: it waited {waited:0.0} s in the offline queue and its message expiry interval is {publish.Properties!.MessageExpiryInterval} s. It was not sent."));
    }

    private async ValueTask WriteQueuedAtMostOnceAsync(MqttLink link, PendingPublish publish)
    {
        try
        {
            await link.SendAsync(PublishPackets.Build(publish.Topic, publish.Payload, publish.Qos, publish.Retain, publish.PropertiesAt(Environment.TickCount64), default)).ConfigureAwait(false);
            Counters.AddCompleted();
            publish.Complete();
        }
#pragma warning disable CA1031 // Reported on the publish's own task.
        catch (Exception e)
#pragma warning restore CA1031
        {
            publish.Fail(ConnectionDropped(publish.Topic, e));
        }
    }

    /// <summary>A QoS 0 publish lost with its connection, as the protocol allows (at most once).</summary>
    private static MqttOperationException ConnectionDropped(string topic, Exception e) =>
        new($"Publishing to '{topic}' failed: the connection dropped ({e.GetBaseException().Message}). QoS 0 is not resent; publish with QoS 1 or 2 when the message must arrive.", null, e);

    /// <summary>Fails everything still queued or in flight (the connection is closing for good).</summary>
    public void FailAll(string reason)
    {
        foreach (var publish in _queue.DrainAll().Concat(_session.Unfinished()))
        {
            publish.Fail(new MqttOperationException(reason + (publish.OutboxId != 0 ? " It stays in the outbox and is sent by the next connection that opens it." : string.Empty)));
        }
    }
}
