namespace TypedMqtt.Delivery;

/// <summary>What outbound delivery counts since the connection opened (read by <c>MqttConnection.Statistics</c>); safe from any thread.</summary>
internal sealed class DeliveryCounters
{
    private long _completed;
    private long _resent;
    private long _queued;
    private long _dropped;
    private long _rejected;
    private int _maxInFlight;
    private long _topicBytesSaved;

    /// <summary>Publishes completed: QoS 0 written, QoS 1/2 acknowledged.</summary>
    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>PUBLISH or PUBREL packets written again for a flow.</summary>
    public long Resent => Interlocked.Read(ref _resent);

    /// <summary>Publishes that waited in the offline queue.</summary>
    public long Queued => Interlocked.Read(ref _queued);

    /// <summary>Publishes the offline queue's policy dropped or superseded.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Publishes refused (by the broker, a full queue, or given up after closing the connection twice).</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>The most QoS 1/2 publishes in flight on one link at once.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>Topic bytes not sent because an outbound topic alias stood in for them.</summary>
    public long TopicBytesSaved => Interlocked.Read(ref _topicBytesSaved);

    public void AddTopicBytesSaved(int bytes) => Interlocked.Add(ref _topicBytesSaved, bytes);

    public void AddCompleted() => Interlocked.Increment(ref _completed);

    public void AddResent() => Interlocked.Increment(ref _resent);

    public void AddQueued() => Interlocked.Increment(ref _queued);

    public void AddDropped() => Interlocked.Increment(ref _dropped);

    public void AddRejected() => Interlocked.Increment(ref _rejected);

    /// <summary>Raises <see cref="MaxInFlight"/> to <paramref name="inFlight"/> if that is more.</summary>
    public void ObserveInFlight(int inFlight)
    {
        var current = Volatile.Read(ref _maxInFlight);
        while (inFlight > current)
        {
            var seen = Interlocked.CompareExchange(ref _maxInFlight, inFlight, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
