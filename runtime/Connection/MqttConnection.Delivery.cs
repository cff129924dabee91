using System.Buffers;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;
using TypedMqtt.Delivery;

namespace TypedMqtt;

public sealed partial class MqttConnection
{
    private readonly OutboundQueue _queue;
    private int _draining;
    private long _completed;
    private long _resent;
    private long _queued;
    private long _dropped;
    private long _rejected;
    private int _maxInFlight;
    private int _reconnects;
    private int _deadConnectionsDetected;

    /// <summary>Counters since the connection was opened.</summary>
    public MqttConnectionStatistics Statistics => new()
    {
        Completed = Interlocked.Read(ref _completed),
        Resent = Interlocked.Read(ref _resent),
        Queued = Interlocked.Read(ref _queued),
        Dropped = Interlocked.Read(ref _dropped),
        Rejected = Interlocked.Read(ref _rejected),
        MaxInFlight = Volatile.Read(ref _maxInFlight),
        Reconnects = Volatile.Read(ref _reconnects),
        DeadConnectionsDetected = Volatile.Read(ref _deadConnectionsDetected),
        QueueLength = _queue.Count,
    };

    private MqttOfflinePolicy PolicyFor(MqttQos qos, MqttOfflinePolicy? chosen) =>
        chosen ?? (qos == MqttQos.AtMostOnce ? Options.OfflineQueue.AtMostOncePolicy : Options.OfflineQueue.ReliablePolicy);

    /// <summary>Queues what a previous process left in the outbox; it is sent once connected.</summary>
    private void RecoverOutbox()
    {
        if (Options.Outbox is not { } outbox)
        {
            return;
        }

        foreach (var message in outbox.Pending())
        {
            var publish = new PendingPublish(message.Topic, message.Payload, message.Qos, message.Retain, null, MqttOfflinePolicy.Queue, ownsPayload: true)
            {
                OutboxId = message.Id,
            };
            _queue.Requeue(publish);
        }
    }

    /// <summary>
    /// Sends now when connected and nothing is waiting ahead; otherwise queues by the offline policy. QoS 1/2 complete on
    /// acknowledgement: if the link drops first, the message is put back in the queue and resent after reconnect. The
    /// direct path is this one async method and makes no queue entry; one is made only when the message has to wait.
    /// Its state machine comes from a pool (PoolingAsyncValueTaskMethodBuilder): a publish still waiting for its
    /// acknowledgement then costs the caller's <see cref="ValueTask.AsTask"/> wrapper (about 80 bytes) instead of a fresh
    /// state machine box (about 250), and a QoS 0 publish, which completes at once, nothing. <paramref name="rented"/>,
    /// when given, is the pooled array under <paramref name="payload"/>; it goes back to the pool when the publish is done.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask DeliverAsync(string topic, ReadOnlyMemory<byte> payload, byte[]? rented, MqttQos qos, bool retain, MqttMessageProperties? properties, CodecDefaults defaults, MqttOfflinePolicy policy, CancellationToken cancellationToken)
    {
        try
        {
            long outboxId = 0;
            if (qos != MqttQos.AtMostOnce && Options.Outbox is { } outbox)
            {
                outboxId = outbox.Add(topic, payload.Span, qos, retain);
            }

            PendingPublish waiting;
            var link = _link;
            if (link is not null && _queue.Count == 0)
            {
                var reliable = qos != MqttQos.AtMostOnce;
                if (!reliable || link.InFlight.Wait(0, CancellationToken.None) || await WaitForSlotAsync(link, cancellationToken).ConfigureAwait(false))
                {
                    var clock = reliable ? StartClock(link) : -1;
                    using var linked = WithLinkStop(link, qos, cancellationToken, out var token);
                    MqttClientPublishResult? result;
                    try
                    {
                        result = await link.Client.PublishAsync(CreateMessage(topic, payload, qos, retain, properties, defaults), token).ConfigureAwait(false);
                    }
                    catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not MqttOperationException && IsLinkFailure(e))
                    {
                        OnSendFailed(link, topic, qos, e);
                        result = null;
                    }
                    finally
                    {
                        if (reliable)
                        {
                            link.StopClock(clock);
                        }
                    }

                    if (result is not null)
                    {
                        OnPublished(result, topic, outboxId);
                        return;
                    }
                }

                // The link dropped before the acknowledgement: wait for the resend like any queued message.
                waiting = Pending(topic, payload, qos, retain, properties, defaults, policy, outboxId);
                waiting.Attempts = 1;
                waiting.LastLink = link.Number;
                waiting.OwnPayload();
                _queue.Requeue(waiting);
                if (_link is not null)
                {
                    StartDrain();
                }
            }
            else
            {
                waiting = Pending(topic, payload, qos, retain, properties, defaults, policy, outboxId);
                Enqueue(waiting);
            }

            await waiting.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Waits for a free in-flight slot (the server's receive maximum); false when the link dropped meanwhile.</summary>
    private static async ValueTask<bool> WaitForSlotAsync(Link link, CancellationToken cancellationToken)
    {
        try
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, link.Stop.Token);
            await link.InFlight.WaitAsync(wait.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// The token for MQTTnet's publish. For QoS 2 it is also cancelled when the link is lost: MQTTnet fails a QoS 1 publish
    /// awaiting PUBACK when its client is disposed (AcknowledgementDeadlineTests), but a QoS 2 flow was seen to stay
    /// pending (R2 stalled with 25 of 20,000 publishes never completing). The link token costs a registration per publish,
    /// so QoS 0/1 get the caller's token alone. Without a caller token it is the link's own token (no allocation); with
    /// one, a linked source the caller disposes.
    /// </summary>
    private static CancellationTokenSource? WithLinkStop(Link link, MqttQos qos, CancellationToken cancellationToken, out CancellationToken token)
    {
        if (qos != MqttQos.ExactlyOnce)
        {
            token = cancellationToken;
            return null;
        }

        if (!cancellationToken.CanBeCanceled)
        {
            token = link.Stop.Token;
            return null;
        }

        var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, link.Stop.Token);
        token = linked.Token;
        return linked;
    }

    private int StartClock(Link link)
    {
        var clock = link.StartClock(out var inFlight);
        UpdateMax(ref _maxInFlight, inFlight);
        return clock;
    }

    /// <summary>Settles an answered publish: counted and out of the outbox; a refusal by the broker throws.</summary>
    private void OnPublished(MqttClientPublishResult result, string topic, long outboxId)
    {
        AcknowledgeOutbox(outboxId);
        if (!result.IsSuccess && result.ReasonCode != MqttClientPublishReasonCode.NoMatchingSubscribers)
        {
            var serverSays = string.IsNullOrEmpty(result.ReasonString) ? string.Empty : $" The server said: \"{result.ReasonString}\".";
            throw new MqttOperationException($"The broker refused the publish to '{topic}' with reason {result.ReasonCode} (0x{(int)result.ReasonCode:X2}).{serverSays}", (int)result.ReasonCode);
        }

        Interlocked.Increment(ref _completed);
    }

    /// <summary>
    /// A failed send means the link is unusable: it is ended now, so nothing else is sent into it (and the drain loop,
    /// which stops with the link, does not spin on a dying connection). QoS 0 throws; QoS 1/2 return to be resent.
    /// </summary>
    private void OnSendFailed(Link link, string topic, MqttQos qos, Exception e)
    {
        LoseLink(link, $"publishing to '{topic}' failed: {e.GetBaseException().Message}", null, e, takenOver: false);
        if (qos == MqttQos.AtMostOnce)
        {
            // At most once: a QoS 0 message caught in a dropping connection is gone, as the protocol allows.
            throw new MqttOperationException($"Publishing to '{topic}' failed: the connection dropped ({e.GetBaseException().Message}).", null, e);
        }

        if (qos == MqttQos.ExactlyOnce)
        {
            _cleanStartNext = true;
        }
    }

    private static PendingPublish Pending(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, MqttMessageProperties? properties, CodecDefaults defaults, MqttOfflinePolicy policy, long outboxId)
    {
        // A queued message carries the codec's defaults as properties of its own.
        if (defaults.ContentType is not null || defaults.Format != MqttPayloadFormat.Unspecified)
        {
            properties = (properties ?? MqttMessageProperties.Empty) with
            {
                ContentType = properties?.ContentType ?? defaults.ContentType,
                PayloadFormat = properties?.PayloadFormat ?? (defaults.Format == MqttPayloadFormat.Unspecified ? null : defaults.Format),
            };
        }

        return new PendingPublish(topic, payload, qos, retain, properties, policy, ownsPayload: false) { OutboxId = outboxId };
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
            Interlocked.Increment(ref _rejected);
            throw;
        }

        Interlocked.Increment(ref _queued);
        if (displaced is not null)
        {
            Interlocked.Increment(ref _dropped);
            AcknowledgeOutbox(displaced.OutboxId);
            displaced.Fail(new MqttOperationException(displaced.Policy == MqttOfflinePolicy.KeepLatestPerTopic
                ? $"The publish to '{displaced.Topic}' was superseded by a newer one for the same topic while offline (KeepLatestPerTopic)."
                : $"The publish to '{displaced.Topic}' was dropped: the offline queue was full and the policy is DropOldest."));
        }

        if (_link is not null)
        {
            StartDrain();
        }
    }

    /// <summary>
    /// Hands one queued publish to MQTTnet on <paramref name="link"/>, holding an in-flight slot already for QoS 1/2.
    /// Returns true when it is done (acknowledged); false when the link dropped before the acknowledgement of a QoS 1/2
    /// message (the caller queues it again). Throws <see cref="MqttOperationException"/> when the broker refused it, or
    /// when a QoS 0 message was caught in a drop.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> SendQueuedOnLinkAsync(Link link, PendingPublish publish)
    {
        var reliable = publish.Qos != MqttQos.AtMostOnce;
        var clock = reliable ? StartClock(link) : -1;
        using var linked = WithLinkStop(link, publish.Qos, CancellationToken.None, out var token);
        MqttClientPublishResult result;
        try
        {
            result = await link.Client.PublishAsync(CreateMessage(publish.Topic, publish.Payload, publish.Qos, publish.Retain, publish.Properties, default), token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not MqttOperationException && IsLinkFailure(e))
        {
            OnSendFailed(link, publish.Topic, publish.Qos, e);
            return false;
        }
        finally
        {
            if (reliable)
            {
                link.StopClock(clock);
            }
        }

        OnPublished(result, publish.Topic, publish.OutboxId);
        return true;
    }

    /// <summary>Sends a queued publish (its in-flight slot already held) and settles its task: completed, failed, or back in the queue.</summary>
    private async Task<bool> TrySendAsync(Link link, PendingPublish publish)
    {
        publish.Attempts++;
        if (publish.LastLink != 0 && publish.LastLink != link.Number)
        {
            Interlocked.Increment(ref _resent);
        }

        publish.LastLink = link.Number;

        try
        {
            if (await SendQueuedOnLinkAsync(link, publish).ConfigureAwait(false))
            {
                publish.Complete();
                return true;
            }
        }
        catch (MqttOperationException e)
        {
            publish.Fail(e);
            throw;
        }

        _queue.Requeue(publish);
        return false;
    }

    private TimeSpan AcknowledgementDeadline =>
        TimeSpan.FromTicks(Math.Max(Options.ConnectTimeout.Ticks, (Options.KeepAlive > TimeSpan.Zero ? Options.KeepAlive : TimeSpan.FromSeconds(30)).Ticks * 3 / 2));

    private static bool IsLinkFailure(Exception e) =>
        e is MqttCommunicationException or MqttClientNotConnectedException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or IOException;

    private void StartDrain()
    {
        if (Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
        {
            _ = Task.Run(DrainAsync);
        }
    }

    /// <summary>Sends the queue in order, as many QoS 1/2 in flight as the server allows, until it is empty or the link drops.</summary>
    private async Task DrainAsync()
    {
        while (true)
        {
            var link = _link;
            while (link is not null && !link.Stop.IsCancellationRequested && _queue.TryDequeue(out var publish))
            {
                if (publish.Qos != MqttQos.AtMostOnce)
                {
                    try
                    {
                        await link.InFlight.WaitAsync(link.Stop.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        _queue.Requeue(publish);
                        break;
                    }
                }

                _ = SendQueuedAsync(link, publish);
            }

            // A full fence between giving up the drain and reading the queue's length (a lock-free snapshot): with only a
            // release write the read could move ahead of it and miss a publish queued by a caller whose StartDrain still
            // saw the drain running, leaving that publish unsent until the next one.
            Interlocked.Exchange(ref _draining, 0);
            if (_queue.Count == 0 || _link is null || Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
            {
                return;
            }
        }
    }

    private async Task SendQueuedAsync(Link link, PendingPublish publish)
    {
        try
        {
            if (!await TrySendAsync(link, publish).ConfigureAwait(false) && _link is { } current && current != link)
            {
                StartDrain();
            }
        }
        catch (MqttOperationException)
        {
            // Already failed on the publish's own task, which its caller observes.
        }
    }

    private void AcknowledgeOutbox(long outboxId)
    {
        if (outboxId == 0 || Options.Outbox is not { } outbox)
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
            LogOutboxFailed(_logger, outboxId, e);
        }
    }

    private static readonly Action<ILogger, long, Exception?> LogOutboxFailed =
        LoggerMessage.Define<long>(LogLevel.Warning, new EventId(6, "OutboxAcknowledgeFailed"),
            "The outbox could not record the acknowledgement of entry {OutboxId}; it will be sent again by the next process that opens the outbox.");

    private void FailQueued(string reason)
    {
        foreach (var publish in _queue.DrainAll())
        {
            publish.Fail(new MqttOperationException(reason + (publish.OutboxId != 0 ? " It stays in the outbox and is sent by the next connection that opens it." : string.Empty)));
        }
    }

    private static void UpdateMax(ref int maximum, int value)
    {
        var current = Volatile.Read(ref maximum);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref maximum, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
