using MQTTnet.Packets;

namespace TypedMqtt.Link;

/// <summary>
/// Delivers a link's received PUBLISH packets in order, one at a time, on whichever thread holds the turn. The reader
/// queues every packet; the one whose packet found the turn free takes it and delivers everything queued until the
/// queue is empty. When the reader's next socket read is already pending, it delivers on its own thread (no hop: the
/// thread that completes that read carries on reading, so reading never pauses and a handler that waits on something
/// the reader must bring cannot stall the link); when the next packet is already buffered, it hands the turn to a
/// thread-pool worker and goes on reading.
/// </summary>
/// <remarks>
/// When the link is lost, what it received whole is still delivered (<see cref="Complete"/>): a QoS 0 message has no
/// second chance. The next link's turn starts only when this one has <see cref="Drained"/>, so messages keep their order
/// across a reconnect and the router never routes for two links at once. A close by the application drops what is queued,
/// on this link and on a lost one still delivering (<see cref="Abandon"/> and the connection's closed token). A handler
/// that waits for something only the next link can bring (a reply) while the lost link's messages wait behind it holds
/// up the next link's messages until that wait ends, as it would on one link.
/// </remarks>
internal sealed class DeliveryTurn : IThreadPoolWorkItem
{
    private readonly Dispatch.HandoffQueue<MqttPublishPacket> _queue = new();
    private readonly Func<MqttPublishPacket, ValueTask> _deliver;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationToken _closed;
    private Task? _previous;
    private volatile bool _abandoned;
    private volatile bool _completed;
    private int _held; // 1 while a thread delivers (or was told to)

    /// <param name="deliver">Delivers and acknowledges one packet; it does not throw.</param>
    /// <param name="previous">The previous link's <see cref="Drained"/>: nothing is delivered here before it completes.</param>
    /// <param name="closed">Cancelled when the application closes the connection: from then on nothing is delivered, on any link.</param>
    public DeliveryTurn(Func<MqttPublishPacket, ValueTask> deliver, Task? previous, CancellationToken closed)
    {
        _deliver = deliver;
        _closed = closed;
        _previous = previous is { IsCompleted: false } ? previous : null;
    }

    /// <summary>Completes once <see cref="Complete"/> was called and everything queued before it was delivered (or abandoned).</summary>
    public Task Drained => _drained.Task;

    /// <summary>Queues a packet; true when the caller took the turn and must <see cref="DeliverHere"/> or <see cref="DeliverOnPool"/>.</summary>
    public bool Add(MqttPublishPacket packet) =>
        _queue.TryWrite(packet) && Interlocked.CompareExchange(ref _held, 1, 0) == 0;

    /// <summary>Delivers on the calling thread until the queue is empty or a delivery waits (it then goes on where it resumes).</summary>
    public void DeliverHere() => _ = DrainAsync();

    /// <summary>Delivers on a thread-pool worker.</summary>
    public void DeliverOnPool() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    /// <summary>No more packets: what is queued is still delivered, then <see cref="Drained"/> completes.</summary>
    public void Complete()
    {
        _queue.Complete();
        _completed = true;
        if (Interlocked.CompareExchange(ref _held, 1, 0) == 0)
        {
            DeliverOnPool(); // nobody holds the turn: a drain of its own finds what is left (or nothing) and completes
        }
    }

    /// <summary>No more packets, and what is queued is dropped (the application closed the connection).</summary>
    public void Abandon()
    {
        _abandoned = true;
        Complete();
    }

    void IThreadPoolWorkItem.Execute() => _ = DrainAsync();

    private async Task DrainAsync()
    {
        try
        {
            if (_previous is { } previous)
            {
                await previous.ConfigureAwait(false); // the last link's messages first (it never faults)
                _previous = null;
            }

            while (true)
            {
                while (_queue.TryRead(out var packet))
                {
                    if (!_abandoned && !_closed.IsCancellationRequested)
                    {
                        await _deliver(packet).ConfigureAwait(false);
                    }
                }

                if (_completed)
                {
                    if (_queue.IsEmpty)
                    {
                        _drained.TrySetResult(); // the turn stays held: nothing can be queued any more
                        return;
                    }

                    continue; // queued just before the queue was completed
                }

                // Let go, then look again: a packet queued after the last read but before the release (or a Complete
                // whose own attempt found the turn still held) left the work to this thread.
                Interlocked.Exchange(ref _held, 0);
                if (!(_completed || !_queue.IsEmpty) || Interlocked.CompareExchange(ref _held, 1, 0) != 0)
                {
                    return;
                }
            }
        }
#pragma warning disable CA1031 // Nothing is expected here: the delivery itself handles the link's end; the next link must not wait forever.
        catch (Exception)
#pragma warning restore CA1031
        {
            _drained.TrySetResult();
        }
    }
}
