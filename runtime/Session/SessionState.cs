using TypedMqtt.Delivery;

namespace TypedMqtt.Session;

/// <summary>
/// The client's half of an MQTT session, owned by TypedMqtt rather than by MQTTnet: the packet identifiers in use, the
/// outbound QoS 1/2 flows (each with its identifier and phase, kept across links until the final acknowledgement), and
/// the identifiers of inbound QoS 2 messages received but not yet released (so a resent PUBLISH is acknowledged
/// without reaching a handler twice). Thread-safe; every method takes one short lock. With an outbox, every change of a
/// flow's identifier or phase and every inbound identifier held or released is recorded there before the packet that
/// depends on it is written, so a process restarted after a crash resumes its flows (see <see cref="IMqttOutbox"/>).
/// </summary>
internal sealed class SessionState(IMqttOutbox? outbox = null)
{
    private readonly object _gate = new();
    private readonly Dictionary<ushort, PendingPublish> _outbound = [];
    // Inbound QoS 2 identifiers held from PUBLISH to PUBREL, each with the fingerprint of its message.
    private readonly Dictionary<ushort, ulong> _inbound = [];

    // Inbound QoS 2 messages released lately (identifier and fingerprint), oldest first, at most CompletedHistory.
    private readonly Dictionary<ushort, ulong> _completed = [];
    private readonly Queue<ushort> _completedOrder = new();
    private const int CompletedHistory = 4096;
    private readonly HashSet<ushort> _requests = [];
    private ushort _lastId;

    /// <summary>How many outbound flows are unfinished.</summary>
    public int OutboundCount
    {
        get
        {
            lock (_gate)
            {
                return _outbound.Count;
            }
        }
    }

    /// <summary>Starts the flow of a publish about to be written: assigns its packet identifier (if it has none) and marks it published.</summary>
    public void BeginFlow(PendingPublish publish, int linkNumber)
    {
        lock (_gate)
        {
            if (publish.PacketId == 0)
            {
                publish.PacketId = NextId();
                _outbound.Add(publish.PacketId, publish);
                Persist(publish);
            }

            publish.Phase = FlowPhase.Published;
            publish.LinkNumber = linkNumber;
            publish.SentAt = Math.Max(Environment.TickCount64, 1);
            publish.Attempts++;
        }
    }

    /// <summary>PUBACK (QoS 1) or PUBCOMP (QoS 2): the flow is finished and its identifier free.</summary>
    /// <remarks>With <paramref name="refused"/>, a PUBREC that refused the message ends a QoS 2 flow still at PUBLISH.</remarks>
    public PendingPublish? Finish(ushort packetId, MqttQos qos, bool refused = false)
    {
        lock (_gate)
        {
            if (!_outbound.TryGetValue(packetId, out var publish) || publish.Qos != qos
                || (qos == MqttQos.ExactlyOnce && publish.Phase != (refused ? FlowPhase.Published : FlowPhase.Released)))
            {
                return null;
            }

            _outbound.Remove(packetId);
            return publish;
        }
    }

    /// <summary>PUBREC: the broker has the QoS 2 message; the flow moves on to PUBREL.</summary>
    public PendingPublish? Release(ushort packetId, int linkNumber)
    {
        lock (_gate)
        {
            if (!_outbound.TryGetValue(packetId, out var publish) || publish.Qos != MqttQos.ExactlyOnce)
            {
                return null;
            }

            publish.Phase = FlowPhase.Released;
            publish.LinkNumber = linkNumber;
            publish.SentAt = Math.Max(Environment.TickCount64, 1);
            Persist(publish);
            return publish;
        }
    }

    /// <summary>A flow is written again on a resumed session; returns its phase (what to write: PUBLISH or PUBREL).</summary>
    public FlowPhase Resend(PendingPublish publish, int linkNumber)
    {
        lock (_gate)
        {
            publish.LinkNumber = linkNumber;
            publish.SentAt = Math.Max(Environment.TickCount64, 1);
            if (publish.Phase == FlowPhase.Published)
            {
                publish.Attempts++;
            }

            return publish.Phase;
        }
    }

    /// <summary>Ends a flow without an acknowledgement (refused by the broker, or given up as poison).</summary>
    public void Abandon(PendingPublish publish)
    {
        lock (_gate)
        {
            if (publish.PacketId != 0 && _outbound.TryGetValue(publish.PacketId, out var tracked) && ReferenceEquals(tracked, publish))
            {
                _outbound.Remove(publish.PacketId);
            }
        }
    }

    /// <summary>The unfinished flows in the order they were accepted: what a resumed session resends first.</summary>
    public List<PendingPublish> Unfinished()
    {
        lock (_gate)
        {
            var flows = _outbound.Values.ToList();
            flows.Sort(static (a, b) => a.Sequence.CompareTo(b.Sequence));
            return flows;
        }
    }

    /// <summary>
    /// The broker has no session for this client (clean start, expired or lost): every identifier is free again. A flow
    /// past PUBREC is finished (the broker took the message over when it sent PUBREC); one still at PUBLISH starts again
    /// as a new message. Inbound QoS 2 identifiers are forgotten, as the broker forgot them. Returns the flows that
    /// finished and the ones to send again, each in their original order.
    /// </summary>
    public (List<PendingPublish> Finished, List<PendingPublish> Restart) StartNew()
    {
        lock (_gate)
        {
            var flows = _outbound.Values.ToList();
            flows.Sort(static (a, b) => a.Sequence.CompareTo(b.Sequence));
            _outbound.Clear();
            foreach (var id in _inbound.Keys)
            {
                RecordInbound(id, held: false);
            }

            _inbound.Clear();
            _completed.Clear();
            _completedOrder.Clear();
            _requests.Clear();
            var finished = new List<PendingPublish>();
            var restart = new List<PendingPublish>();
            foreach (var flow in flows)
            {
                if (flow.Phase == FlowPhase.Released)
                {
                    finished.Add(flow);
                    continue;
                }

                flow.PacketId = 0;
                flow.Phase = FlowPhase.New;
                Persist(flow);
                restart.Add(flow);
            }

            return (finished, restart);
        }
    }

    /// <summary>When the oldest packet still awaiting an answer on <paramref name="linkNumber"/> was written, or 0.</summary>
    public long OldestUnanswered(int linkNumber)
    {
        lock (_gate)
        {
            long oldest = 0;
            foreach (var flow in _outbound.Values)
            {
                if (flow.LinkNumber == linkNumber && flow.Phase != FlowPhase.New && (oldest == 0 || flow.SentAt < oldest))
                {
                    oldest = flow.SentAt;
                }
            }

            return oldest;
        }
    }

    /// <summary>The oldest flow written on <paramref name="linkNumber"/> that the broker has not acknowledged (PUBACK or PUBREC), if any.</summary>
    public PendingPublish? OldestUnacknowledged(int linkNumber)
    {
        lock (_gate)
        {
            PendingPublish? oldest = null;
            foreach (var flow in _outbound.Values)
            {
                if (flow.LinkNumber == linkNumber && flow.Phase == FlowPhase.Published && (oldest is null || flow.Sequence < oldest.Sequence))
                {
                    oldest = flow;
                }
            }

            return oldest;
        }
    }

    /// <summary>
    /// An inbound QoS 2 PUBLISH: true when it is new (deliver it), false when it is a resend of a message the handlers
    /// already have. A resend is a PUBLISH whose identifier is still held (received, not released), or one marked DUP
    /// whose identifier and fingerprint (topic and payload) equal those of a message released lately: a broker whose
    /// session was restored from an older snapshot (Mosquitto after a restart) sends those again although the flow
    /// finished. A PUBLISH without DUP is always new: the broker took the identifier for a new message.
    /// </summary>
    public bool ReceiveExactlyOnce(ushort packetId, bool duplicate, ulong fingerprint)
    {
        lock (_gate)
        {
            if (_inbound.ContainsKey(packetId))
            {
                return false;
            }

            _inbound.Add(packetId, fingerprint);
            RecordInbound(packetId, held: true);
            if (_completed.TryGetValue(packetId, out var previous))
            {
                if (duplicate && previous == fingerprint)
                {
                    return false;
                }

                _completed.Remove(packetId);
            }

            return true;
        }
    }

    /// <summary>An inbound PUBREL: frees the identifier (remembering the message as released); false when it was not held.</summary>
    public bool ReleaseInbound(ushort packetId)
    {
        lock (_gate)
        {
            if (!_inbound.Remove(packetId, out var fingerprint))
            {
                return false;
            }

            RecordInbound(packetId, held: false);
            if (_completed.TryAdd(packetId, fingerprint))
            {
                _completedOrder.Enqueue(packetId);
                while (_completedOrder.Count > CompletedHistory)
                {
                    _completed.Remove(_completedOrder.Dequeue());
                }
            }
            else
            {
                _completed[packetId] = fingerprint;
            }

            return true;
        }
    }

    /// <summary>The inbound QoS 2 identifiers held now.</summary>
    public ushort[] InboundIds()
    {
        lock (_gate)
        {
            return [.. _inbound.Keys];
        }
    }

    /// <summary>Restores inbound QoS 2 identifiers a previous process held.</summary>
    public void RestoreInbound(IEnumerable<ushort> ids)
    {
        lock (_gate)
        {
            foreach (var id in ids)
            {
                _inbound.TryAdd(id, 0);
            }
        }
    }

    /// <summary>Restores an outbound flow a previous process had written (from the outbox), keeping its identifier and phase.</summary>
    /// <returns>False when the identifier is taken (the message is then sent as a new one).</returns>
    public bool RestoreFlow(PendingPublish publish)
    {
        lock (_gate)
        {
            if (publish.PacketId != 0 && _outbound.TryAdd(publish.PacketId, publish))
            {
                return true;
            }

            publish.PacketId = 0;
            publish.Phase = FlowPhase.New;
            return false;
        }
    }

    /// <summary>An identifier for a SUBSCRIBE or UNSUBSCRIBE; give it back with <see cref="EndRequest"/>.</summary>
    public ushort BeginRequest()
    {
        lock (_gate)
        {
            var id = NextId();
            _requests.Add(id);
            return id;
        }
    }

    public void EndRequest(ushort packetId)
    {
        lock (_gate)
        {
            _requests.Remove(packetId);
        }
    }

    // A failure to write a record must not end the session: the state in memory is right, and at worst a process
    // restarted after a crash sends the message again as a new one.
    private void Persist(PendingPublish publish)
    {
        if (outbox is null || publish.OutboxId == 0)
        {
            return;
        }

        try
        {
            outbox.RecordFlow(publish.OutboxId, publish.PacketId, publish.Phase == FlowPhase.Released);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
        }
    }

    private void RecordInbound(ushort packetId, bool held)
    {
        if (outbox is null)
        {
            return;
        }

        try
        {
            outbox.RecordInbound(packetId, held);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
        }
    }

    private ushort NextId()
    {
        for (var tries = 0; tries < ushort.MaxValue; tries++)
        {
            _lastId = _lastId == ushort.MaxValue ? (ushort)1 : (ushort)(_lastId + 1);
            if (!_outbound.ContainsKey(_lastId) && !_requests.Contains(_lastId))
            {
                return _lastId;
            }
        }

        throw new MqttOperationException("All 65,535 packet identifiers are in use by publishes awaiting their acknowledgement: wait for some to complete (await the publish tasks) before publishing more.");
    }
}
