using MQTTnet.Packets;

namespace TypedMqtt.Link;

/// <summary>A link's reading: on the thread pool (the default), or on a thread of its own (<see cref="ReadingThread"/>).</summary>
internal sealed partial class MqttLink
{
    /// <summary>
    /// Reads and handles packets for as long as reads complete at once; at the first read that must wait, registers
    /// <see cref="OnReadCompleted"/> to carry on from the thread that completes it, and only then does the work the last
    /// packet left to this thread: delivering (a PUBLISH that got the delivery turn) or completing the publish an
    /// acknowledgement finished, so that the caller's continuation runs here. Either saves a thread hop, and reading
    /// never pauses for it: bytes leave the kernel as they arrive (a broker's reset discards what was left unread
    /// there), and a handler or a caller that waits synchronously on something only the reader brings (the
    /// acknowledgement of another publish) cannot stall the link. When the next packet is already buffered, the work
    /// goes to a thread-pool worker instead and this thread reads on.
    /// </summary>
    private void ReadOn(ValueTask<MqttPacket?> read, bool completed)
    {
        var token = Stop.Token;
        LeftToReader left = default;
        try
        {
            while (true)
            {
                if ((completed && !Handle(read, out left)) || token.IsCancellationRequested)
                {
                    left.HandOff(_delivery);
                    return;
                }

                read = Wire.ValidatingAdapter.ReceiveAsync(_adapter, token);
                completed = true;
                if (!read.IsCompleted)
                {
                    _pendingRead = read;
                    read.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_readCompleted);
                    left.RunHere(_delivery);

                    return;
                }

                left.HandOff(_delivery);
                left = default;
            }
        }
#pragma warning disable CA1031 // Whatever ends reading ends the link; the reason is reported with it.
        catch (Exception e)
#pragma warning restore CA1031
        {
            ReadingFailed(left, e, token);
        }
    }

    /// <summary>The pending read completed: this thread handles its packet and reads on.</summary>
    private void OnReadCompleted()
    {
        var read = _pendingRead;
        _pendingRead = default;
        ReadOn(read, completed: true);
    }

    /// <summary>
    /// The loop of a link's own reading thread (<see cref="ReadingThread"/>): blocking reads, and between two reads the
    /// packet's handling and, when nothing more is buffered, the work it left, as <see cref="ReadOn"/> runs that work
    /// once its next read is pending. Reading pauses meanwhile, so that span is watched: the watch hands reading to a new
    /// thread when it runs too long (a handler, or a write the peer does not take), and this one then ends. The read gets
    /// no token: a close ends it by closing the socket, and a packet read after the link stopped is not handled.
    /// </summary>
    private void ReadOnOwnThread()
    {
        var thread = _readingThread!;
        var channel = ((Wire.ValidatingAdapter)_adapter).Channel;
        var token = Stop.Token;
        LeftToReader left = default;
        try
        {
            while (true)
            {
                var read = Wire.ValidatingAdapter.ReceiveAsync(_adapter, CancellationToken.None);
                if (!read.IsCompleted)
                {
                    read = new ValueTask<MqttPacket?>(read.AsTask().GetAwaiter().GetResult()); // not expected: the reads block
                }

                if (token.IsCancellationRequested)
                {
                    break;
                }

                var run = thread.Enter();
                var goOn = Handle(read, out left) && !token.IsCancellationRequested;
                if (goOn && !channel.HasBuffered)
                {
                    left.RunHere(_delivery);
                }
                else
                {
                    left.HandOff(_delivery);
                }

                left = default;
                if (!thread.Leave(run))
                {
                    return; // the watch gave reading to another thread meanwhile, which now owns the link's end too
                }

                if (!goOn)
                {
                    break;
                }
            }
        }
#pragma warning disable CA1031 // Whatever ends reading ends the link; the reason is reported with it.
        catch (Exception e)
#pragma warning restore CA1031
        {
            ReadingFailed(left, e, token);
        }

        thread.End();
    }

    /// <summary>A read or the handling of a packet failed: the work left goes to workers, and the link is lost unless it was already ending.</summary>
    private void ReadingFailed(LeftToReader left, Exception e, CancellationToken token)
    {
        left.HandOff(_delivery);
        if (!token.IsCancellationRequested)
        {
            Lose(LossFrom(e));
        }
    }

    /// <summary>Handles one completed read; false when reading ends. A read that failed throws here.</summary>
    private bool Handle(ValueTask<MqttPacket?> read, out LeftToReader left)
    {
        left = default;
        var packet = read.GetAwaiter().GetResult();
        if (packet is null)
        {
            if (!Stop.IsCancellationRequested)
            {
                Lose(new LinkLoss("the broker closed the connection without DISCONNECT", null, null, LinkLossCause.ServerClosed));
            }

            return false;
        }

        return Dispatch(packet, out left);
    }

    /// <summary>
    /// What a handled packet left for the reading thread to do once its next read is pending: deliver (the PUBLISH took
    /// the delivery turn) or complete a publish (an acknowledgement finished it).
    /// </summary>
    private readonly record struct LeftToReader(bool HoldsTurn, Delivery.PendingPublish? Acknowledged)
    {
        /// <summary>
        /// Does the work on the reading thread, one job per thread: the delivery runs here and a completion (rare: in the
        /// same packet batch) goes to a worker, else the completion runs here.
        /// </summary>
        public void RunHere(DeliveryTurn delivery)
        {
            if (HoldsTurn)
            {
                Acknowledged?.Complete();
                delivery.DeliverHere();
            }
            else
            {
                Acknowledged?.CompleteHere();
            }
        }

        /// <summary>Gives the work to thread-pool workers (the next packet is buffered already, or reading ends).</summary>
        public void HandOff(DeliveryTurn delivery)
        {
            Acknowledged?.Complete();
            if (HoldsTurn)
            {
                delivery.DeliverOnPool();
            }
        }
    }

    private static LinkLoss LossFrom(Exception e) =>
        ExceptionChain.Find<Wire.MqttProtocolViolation>(e) is { } violation
            ? new LinkLoss("the connection was closed: " + violation.Message, violation.ReasonCode, e, LinkLossCause.Failure)
            : new LinkLoss("the connection was lost: " + e.GetBaseException().Message, null, e, LinkLossCause.Failure);
}
