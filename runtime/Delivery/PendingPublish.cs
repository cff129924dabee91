using System.Runtime.CompilerServices;

namespace TypedMqtt.Delivery;

/// <summary>Where a QoS 1/2 publish stands in its flow with the broker.</summary>
internal enum FlowPhase
{
    /// <summary>Not written yet (waiting in the queue, or about to be written).</summary>
    New,

    /// <summary>PUBLISH written, PUBACK (QoS 1) or PUBREC (QoS 2) not received.</summary>
    Published,

    /// <summary>QoS 2 only: PUBREC received and PUBREL written, PUBCOMP not received.</summary>
    Released,
}

/// <summary>
/// A publish between the caller and the broker's final acknowledgement: what to send, where its flow stands (packet
/// identifier and phase, owned by <see cref="Session.SessionState"/> once written) and whom to tell. The caller's
/// continuation never runs inside whoever settles it: <see cref="Complete"/> and <see cref="Fail"/> hand the completion to
/// a thread-pool worker (the publish is its own work item, so that allocates nothing); only the link's reader, once its
/// next socket read is pending, completes it on its own thread with <see cref="CompleteHere"/> (no thread hop).
/// </summary>
internal sealed class PendingPublish(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, MqttMessageProperties? properties, MqttOfflinePolicy policy, bool ownsPayload)
    : IThreadPoolWorkItem
{
    private const int Waiting = 0;
    private const int Taken = 1;
    private const int Withdrawn = 2;

    private static long _lastSequence;
    // Continuations run where it completes: on a worker (Complete, Fail) or on the reader by choice (CompleteHere).
    private readonly TaskCompletionSource _completion = new();
    private bool _ownsPayload = ownsPayload;
    private int _claim;
    private int _settled;
    private Exception? _failure;
    private StrongBox<int>? _unfinished;
    private byte[]? _rented;

    /// <summary>Order of acceptance: queued and resent publishes go out by it.</summary>
    public long Sequence { get; } = Interlocked.Increment(ref _lastSequence);

    /// <summary>When it was accepted (Environment.TickCount64), from which its message expiry counts.</summary>
    public long AcceptedAt { get; init; } = Environment.TickCount64;

    /// <summary>
    /// Whether its Message Expiry Interval ran out before <paramref name="now"/> (MQTT 5 §3.3.2.3.3): a message that
    /// waited that long is no longer wanted, and the broker would discard it.
    /// </summary>
    public bool HasExpired(long now) =>
        Properties?.MessageExpiryInterval is { } interval and > 0 && now - AcceptedAt >= interval * 1000L;

    /// <summary>
    /// The properties to send at <paramref name="now"/>: the expiry interval less the whole seconds it has waited here,
    /// as a broker forwards a message; at least 1 s, since 0 would mean it never expires. The same object when nothing changed.
    /// </summary>
    public MqttMessageProperties? PropertiesAt(long now)
    {
        if (Properties?.MessageExpiryInterval is not { } interval || interval == 0)
        {
            return Properties;
        }

        var waited = (now - AcceptedAt) / 1000;
        return waited < 1 ? Properties : Properties with { MessageExpiryInterval = (uint)Math.Max(1, interval - waited) };
    }

    public string Topic { get; } = topic;

    /// <summary>The payload; it may point into the caller's pooled buffer until <see cref="OwnPayload"/> is called.</summary>
    public ReadOnlyMemory<byte> Payload { get; private set; } = payload;

    public MqttQos Qos { get; } = qos;

    public bool Retain { get; } = retain;

    public MqttMessageProperties? Properties { get; } = properties;

    public MqttOfflinePolicy Policy { get; } = policy;

    /// <summary>The outbox id, or 0 when not stored in an outbox.</summary>
    public long OutboxId { get; set; }

    /// <summary>The packet identifier of its flow; 0 until the session assigns one.</summary>
    public ushort PacketId { get; set; }

    /// <summary>Where the flow stands; changed by the session under its lock.</summary>
    public FlowPhase Phase { get; set; }

    /// <summary>How many times its PUBLISH was written.</summary>
    public int Attempts { get; set; }

    /// <summary>The link it was last written on (0 = none).</summary>
    public int LinkNumber { get; set; }

    /// <summary>When its last packet was written (Environment.TickCount64), for the acknowledgement deadline.</summary>
    public long SentAt { get; set; }

    /// <summary>Links that ended with this flow as the oldest unacknowledged one and a reason that names a bad publish.</summary>
    public int Suspicions { get; set; }

    /// <summary>The link whose in-flight slot (receive maximum) the flow holds, released on its acknowledgement.</summary>
    public Link.MqttLink? SlotLink { get; set; }

    /// <summary>Gives the in-flight slot back to its link, if the flow holds one.</summary>
    public void ReleaseSlot()
    {
        SlotLink?.InFlight.Release();
        SlotLink = null;
    }

    public Task Completion => _completion.Task;

    /// <summary>Whether it was completed or failed (its task may still be about to say so).</summary>
    public bool IsDone => Volatile.Read(ref _settled) != 0;

    /// <summary>Claims a waiting publish for sending; false when it was withdrawn (cancelled) or already taken.</summary>
    public bool TryTake() => Interlocked.CompareExchange(ref _claim, Taken, Waiting) == Waiting;

    /// <summary>Gives a taken publish back (it goes back to the queue unwritten).</summary>
    public void Untake() => Interlocked.CompareExchange(ref _claim, Waiting, Taken);

    /// <summary>Withdraws a publish nobody has taken for sending yet; false once it is being (or was) written.</summary>
    public bool TryWithdraw()
    {
        if (Interlocked.CompareExchange(ref _claim, Withdrawn, Waiting) != Waiting)
        {
            return false;
        }

        CountOut();
        ReturnRented();
        return true;
    }

    /// <summary>Copies the payload so it outlives the caller's buffer (needed before it waits in a queue).</summary>
    public void OwnPayload()
    {
        if (!_ownsPayload)
        {
            Payload = Payload.ToArray();
            _ownsPayload = true;
            ReturnRented();
        }
    }

    /// <summary>
    /// Counts this publish in <paramref name="unfinished"/> until its caller is told (its task completed) or it is
    /// withdrawn. Called once, before anyone else sees the publish.
    /// </summary>
    public void CountIn(StrongBox<int> unfinished)
    {
        Interlocked.Increment(ref unfinished.Value);
        _unfinished = unfinished;
    }

    /// <summary>Succeeds (the first settlement wins), on a thread-pool worker.</summary>
    public void Complete()
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    /// <summary>Fails (the first settlement wins), on a thread-pool worker.</summary>
    public void Fail(Exception exception)
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            _failure = exception;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    /// <summary>
    /// Takes <paramref name="rented"/>, the pooled array under <see cref="Payload"/>: the flow is written and resent from
    /// it, and gives it back to the pool when the payload is copied (<see cref="OwnPayload"/>), or the publish settles or
    /// is withdrawn; it is never read after.
    /// </summary>
    public void Adopt(byte[]? rented) => _rented = rented;

    /// <summary>Succeeds on this thread: the caller's continuation runs here before this returns. Only for a thread that nothing else waits on.</summary>
    public void CompleteHere()
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            ReturnRented();
            _completion.TrySetResult();
            CountOut();
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        ReturnRented();
        if (_failure is { } failure)
        {
            _completion.TrySetException(failure);
        }
        else
        {
            _completion.TrySetResult();
        }

        CountOut();
    }

    private void ReturnRented()
    {
        if (Interlocked.Exchange(ref _rented, null) is { } rented)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Its caller was told, or it was withdrawn: leaves the count it is in (once).</summary>
    private void CountOut()
    {
        if (Interlocked.Exchange(ref _unfinished, null) is { } unfinished)
        {
            Interlocked.Decrement(ref unfinished.Value);
        }
    }
}
