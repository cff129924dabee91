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
internal sealed class DeliveryTurn : IThreadPoolWorkItem
{
    private readonly Dispatch.HandoffQueue<MqttPublishPacket> _queue = new();
    private readonly Func<MqttPublishPacket, ValueTask> _deliver;
    private readonly CancellationToken _stop;
    private int _held; // 1 while a thread delivers (or was told to)

    /// <param name="deliver">Delivers and acknowledges one packet; a throw means the link is gone.</param>
    /// <param name="stop">Cancelled when the link ends: nothing more is delivered.</param>
    public DeliveryTurn(Func<MqttPublishPacket, ValueTask> deliver, CancellationToken stop)
    {
        _deliver = deliver;
        _stop = stop;
    }

    /// <summary>Queues a packet; true when the caller took the turn and must <see cref="DeliverHere"/> or <see cref="DeliverOnPool"/>.</summary>
    public bool Add(MqttPublishPacket packet) =>
        _queue.TryWrite(packet) && Interlocked.CompareExchange(ref _held, 1, 0) == 0;

    /// <summary>Delivers on the calling thread until the queue is empty or a delivery waits (it then goes on where it resumes).</summary>
    public void DeliverHere() => _ = DrainAsync();

    /// <summary>Delivers on a thread-pool worker.</summary>
    public void DeliverOnPool() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    /// <summary>No more packets: whoever holds the turn stops after its current delivery.</summary>
    public void Complete() => _queue.Complete();

    void IThreadPoolWorkItem.Execute() => _ = DrainAsync();

    private async Task DrainAsync()
    {
        try
        {
            do
            {
                while (_queue.TryRead(out var packet))
                {
                    if (_stop.IsCancellationRequested)
                    {
                        return; // the turn stays held: the link is gone
                    }

                    await _deliver(packet).ConfigureAwait(false);
                }

                // Let go, then look again: a packet queued after the last read but before the release found the turn
                // held and left it to this thread.
                Interlocked.Exchange(ref _held, 0);
            }
            while (!_queue.IsEmpty && Interlocked.CompareExchange(ref _held, 1, 0) == 0);
        }
#pragma warning disable CA1031 // A failed acknowledgement already ended the link; nothing else is thrown here.
        catch (Exception)
#pragma warning restore CA1031
        {
            // The link is gone; the broker resends what was not acknowledged.
        }
    }
}
