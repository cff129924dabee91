namespace TypedMqtt.Delivery;

/// <summary>
/// The bounded queue of publishes waiting for a connection (offline, or sent but not acknowledged when it dropped),
/// applying each message's <see cref="MqttOfflinePolicy"/> when it is full. Thread-safe.
/// </summary>
internal sealed class OutboundQueue(int capacity)
{
    private readonly object _gate = new();
    private readonly LinkedList<PendingPublish> _items = new();
    private int _count;

    /// <summary>
    /// How many are waiting: a snapshot, read without the lock (every direct publish asks whether anything is queued
    /// ahead of it); written under the lock after each change.
    /// </summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Queues a new publish by its policy; returns what had to give way (dropped or superseded), or throws when refused.</summary>
    public PendingPublish? Enqueue(PendingPublish publish)
    {
        lock (_gate)
        {
            PendingPublish? displaced = null;
            switch (publish.Policy)
            {
                case MqttOfflinePolicy.FailFast:
                    throw new MqttOperationException($"Cannot publish to '{publish.Topic}': the connection is down and the offline policy is FailFast.");
                case MqttOfflinePolicy.KeepLatestPerTopic:
                    for (var node = _items.Last; node is not null; node = node.Previous)
                    {
                        if (node.Value.Policy == MqttOfflinePolicy.KeepLatestPerTopic && node.Value.Attempts == 0 && string.Equals(node.Value.Topic, publish.Topic, StringComparison.Ordinal))
                        {
                            displaced = node.Value;
                            _items.Remove(node);
                            break;
                        }
                    }

                    break;
            }

            if (displaced is null && _items.Count >= capacity)
            {
                if (publish.Policy == MqttOfflinePolicy.Queue)
                {
                    throw new MqttOperationException($"Cannot publish to '{publish.Topic}': the offline queue is full ({capacity} messages). Raise OfflineQueue.Capacity or choose the DropOldest policy.");
                }

                displaced = _items.First!.Value;
                _items.RemoveFirst();
            }

            _items.AddLast(publish);
            Counted();
            return displaced;
        }
    }

    /// <summary>
    /// Puts back a publish whose connection dropped before its acknowledgement, never refused: ahead of everything
    /// accepted after it, so a window of in-flight messages that failed together is resent in its original order.
    /// </summary>
    public void Requeue(PendingPublish publish)
    {
        lock (_gate)
        {
            var node = _items.First;
            while (node is not null && node.Value.Sequence < publish.Sequence)
            {
                node = node.Next;
            }

            if (node is null)
            {
                _items.AddLast(publish);
            }
            else
            {
                _items.AddBefore(node, publish);
            }

            Counted();
        }
    }

    /// <summary>Takes out a publish withdrawn by its caller; false when it is no longer queued.</summary>
    public bool Remove(PendingPublish publish)
    {
        lock (_gate)
        {
            var removed = _items.Remove(publish);
            Counted();
            return removed;
        }
    }

    public bool TryDequeue(out PendingPublish publish)
    {
        lock (_gate)
        {
            if (_items.First is { } first)
            {
                publish = first.Value;
                _items.RemoveFirst();
                Counted();
                return true;
            }
        }

        publish = null!;
        return false;
    }

    public List<PendingPublish> DrainAll()
    {
        lock (_gate)
        {
            var all = _items.ToList();
            _items.Clear();
            Counted();
            return all;
        }
    }

    /// <summary>Publishes the new length (under the lock).</summary>
    private void Counted() => Volatile.Write(ref _count, _items.Count);
}
