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
    /// acknowledgement: if the link drops first, the message is put back at the head of the queue and resent after reconnect.
    /// </summary>
    private async Task DeliverAsync(PendingPublish publish, CancellationToken cancellationToken)
    {
        if (publish.Qos != MqttQos.AtMostOnce && Options.Outbox is { } outbox)
        {
            publish.OutboxId = outbox.Add(publish.Topic, publish.Payload.Span, publish.Qos, publish.Retain);
        }

        var link = _link;
        if (link is not null && _queue.Count == 0)
        {
            if (await TrySendAsync(link, publish, slotHeld: false, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }
        else
        {
            Enqueue(publish);
        }

        await publish.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
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
            AcknowledgeOutbox(displaced);
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
    /// Hands one publish to MQTTnet on <paramref name="link"/>. Returns true when it is done (acknowledged, or refused
    /// and failed); false when the link dropped first and the publish went back to the queue.
    /// </summary>
    private async Task<bool> TrySendAsync(Link link, PendingPublish publish, bool slotHeld, CancellationToken cancellationToken)
    {
        var reliable = publish.Qos != MqttQos.AtMostOnce;
        if (reliable && !slotHeld)
        {
            try
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, link.Stop.Token);
                await link.InFlight.WaitAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                publish.OwnPayload();
                _queue.Requeue(publish);
                return false;
            }
        }

        var inFlight = reliable ? Interlocked.Increment(ref link.InFlightCount) : 0;
        UpdateMax(ref _maxInFlight, inFlight);
        publish.Attempts++;
        if (publish.Attempts > 1)
        {
            Interlocked.Increment(ref _resent);
        }

        try
        {
            var result = await link.Client.PublishAsync(CreateMessage(publish.Topic, publish.Payload, publish.Qos, publish.Retain, publish.Properties), cancellationToken).ConfigureAwait(false);
            if (!result.IsSuccess && result.ReasonCode != MqttClientPublishReasonCode.NoMatchingSubscribers)
            {
                var serverSays = string.IsNullOrEmpty(result.ReasonString) ? string.Empty : $" The server said: \"{result.ReasonString}\".";
                var refused = new MqttOperationException($"The broker refused the publish to '{publish.Topic}' with reason {result.ReasonCode} (0x{(int)result.ReasonCode:X2}).{serverSays}", (int)result.ReasonCode);
                AcknowledgeOutbox(publish);
                publish.Fail(refused);
                throw refused;
            }

            Interlocked.Increment(ref _completed);
            AcknowledgeOutbox(publish);
            publish.Complete();
            return true;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not MqttOperationException && IsLinkFailure(e))
        {
            if (!reliable)
            {
                // At most once: a QoS 0 message caught in a dropping connection is gone, as the protocol allows.
                var lost = new MqttOperationException($"Publishing to '{publish.Topic}' failed: the connection dropped ({e.GetBaseException().Message}).", null, e);
                publish.Fail(lost);
                throw lost;
            }

            publish.OwnPayload();
            _queue.Requeue(publish);
            return false;
        }
        finally
        {
            if (reliable)
            {
                Interlocked.Decrement(ref link.InFlightCount);
                link.InFlight.Release();
            }
        }
    }

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

            Volatile.Write(ref _draining, 0);
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
            if (!await TrySendAsync(link, publish, slotHeld: true, CancellationToken.None).ConfigureAwait(false) && _link is { } current && current != link)
            {
                StartDrain();
            }
        }
        catch (MqttOperationException)
        {
            // Already failed on the publish's own task, which its caller observes.
        }
    }

    private void AcknowledgeOutbox(PendingPublish publish)
    {
        if (publish.OutboxId != 0)
        {
            Options.Outbox?.Acknowledge(publish.OutboxId);
        }
    }

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
