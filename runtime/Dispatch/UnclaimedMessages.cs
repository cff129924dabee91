using System.Buffers;

namespace TypedMqtt.Dispatch;

/// <summary>
/// Messages that arrived while no local subscription matched them: typically what a persistent session queued while the
/// client was away, delivered right after CONNACK and before the application has re-declared its handlers. They are
/// kept (bounded by count and age) and handed to the first subscription that matches, instead of being dropped.
/// Not thread-safe: <see cref="SubscriptionRegistry"/> guards it with its routing lock.
/// </summary>
internal sealed class UnclaimedMessages(int capacity, TimeSpan maxAge, TimeProvider time)
{
    private readonly LinkedList<Entry> _entries = new();

    /// <summary>How many messages were dropped because the buffer was full or they aged out.</summary>
    public long Dropped { get; private set; }

    public void Add(string topic, ReadOnlySequence<byte> payload, MqttMessageContext context)
    {
        Expire();
        if (_entries.Count >= capacity)
        {
            _entries.RemoveFirst();
            Dropped++;
        }

        _entries.AddLast(new Entry(topic, payload.ToArray(), context, time.GetUtcNow()));
    }

    /// <summary>Removes and returns the kept messages whose topic matches <paramref name="filter"/>, oldest first.</summary>
    public List<Entry> Claim(string filter)
    {
        var claimed = new List<Entry>();
        Expire();
        for (var node = _entries.First; node is not null;)
        {
            var next = node.Next;
            if (Topics.TopicFilterMatcher.IsMatch(node.Value.Topic, filter))
            {
                claimed.Add(node.Value);
                _entries.Remove(node);
            }

            node = next;
        }

        return claimed;
    }

    private void Expire()
    {
        var oldest = time.GetUtcNow() - maxAge;
        while (_entries.First is { } first && first.Value.ReceivedAt < oldest)
        {
            _entries.RemoveFirst();
            Dropped++;
        }
    }

    internal sealed record Entry(string Topic, byte[] Payload, MqttMessageContext Context, DateTimeOffset ReceivedAt);
}
