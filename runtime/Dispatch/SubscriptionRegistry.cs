namespace TypedMqtt.Dispatch;

/// <summary>
/// Every live subscription of a connection: one broker subscription per filter, any number of local sinks on it.
/// Routes a received message through a <see cref="TopicTrie{T}"/>, never by scanning every filter. (MQTT 5
/// subscription identifiers are not requested: the trie routes as fast, and they cost MQTTnet a list per message.)
/// </summary>
internal sealed class SubscriptionRegistry
{
    private readonly object _gate = new();
    private readonly Dictionary<string, FilterEntry> _byFilter = new(StringComparer.Ordinal);
    private readonly TopicTrie<FilterEntry> _trie = new();

    public int FilterCount
    {
        get
        {
            lock (_gate)
            {
                return _byFilter.Count;
            }
        }
    }

    /// <summary>Adds a sink; returns its entry and whether the broker must be told (a new filter or a higher QoS).</summary>
    public FilterEntry Add(string filter, string matchFilter, MqttSubscriptionOptions options, MessageSink sink, out bool mustSubscribe)
    {
        lock (_gate)
        {
            if (_byFilter.TryGetValue(filter, out var entry))
            {
                mustSubscribe = options.Qos > entry.Options.Qos;
                if (mustSubscribe)
                {
                    entry.Options = entry.Options with { Qos = options.Qos };
                }

                entry.Sinks = [.. entry.Sinks, sink];
                return entry;
            }

            entry = new FilterEntry(filter, matchFilter, options) { Sinks = [sink] };
            _byFilter.Add(filter, entry);
            _trie.Add(matchFilter, entry);
            mustSubscribe = true;
            return entry;
        }
    }

    /// <summary>Removes a sink; returns true when it was the filter's last one (the broker subscription should go).</summary>
    public bool Remove(FilterEntry entry, MessageSink sink)
    {
        lock (_gate)
        {
            entry.Sinks = Array.FindAll(entry.Sinks, s => !ReferenceEquals(s, sink));
            if (entry.Sinks.Length > 0 || !_byFilter.TryGetValue(entry.Filter, out var current) || !ReferenceEquals(current, entry))
            {
                return false;
            }

            _byFilter.Remove(entry.Filter);
            _trie.Remove(entry.MatchFilter, entry);
            return true;
        }
    }

    /// <summary>Collects the sinks a message goes to.</summary>
    public void Collect(string topic, List<FilterEntry> scratch, List<MessageSink> results)
    {
        lock (_gate)
        {
            scratch.Clear();
            _trie.Match(topic, scratch);
            foreach (var entry in scratch)
            {
                results.AddRange(entry.Sinks);
            }
        }
    }

    /// <summary>The filters to restore after the broker lost the session.</summary>
    public FilterEntry[] Snapshot()
    {
        lock (_gate)
        {
            return [.. _byFilter.Values];
        }
    }

    internal sealed class FilterEntry(string filter, string matchFilter, MqttSubscriptionOptions options)
    {
        public string Filter { get; } = filter;

        public string MatchFilter { get; } = matchFilter;

        public MqttSubscriptionOptions Options { get; set; } = options;

        public MessageSink[] Sinks { get; set; } = [];
    }
}
