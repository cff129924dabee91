namespace TypedMqtt.Dispatch;

/// <summary>
/// Every live subscription of a connection: one broker subscription per filter, any number of local sinks on it.
/// Each broker subscription has its own MQTT 5 subscription identifier: a message that carries identifiers goes to the
/// sinks of exactly those subscriptions (a broker that sends one copy per matching subscription, as Mosquitto does, then
/// reaches each handler once); one without goes through a <see cref="TopicTrie{T}"/>, never a scan of every filter.
/// </summary>
internal sealed class SubscriptionRegistry
{
    private readonly object _gate = new();
    private readonly Dictionary<string, FilterEntry> _byFilter = new(StringComparer.Ordinal);
    private readonly TopicTrie<FilterEntry> _trie = new();
    private readonly Dictionary<uint, FilterEntry> _byIdentifier = [];
    private uint _lastIdentifier;

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

            // Identifiers run from 1 to 268,435,455 (a variable byte integer); one per broker subscription, for its lifetime.
            _lastIdentifier = _lastIdentifier >= 268_435_455 ? 1 : _lastIdentifier + 1;
            entry = new FilterEntry(filter, matchFilter, options, _lastIdentifier) { Sinks = [sink] };
            _byFilter.Add(filter, entry);
            _byIdentifier[entry.Identifier] = entry;
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
            _byIdentifier.Remove(entry.Identifier);
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

    /// <summary>Collects the sinks of the subscriptions a message names by identifier (none for an identifier no longer subscribed).</summary>
    public void CollectByIdentifiers(List<uint> identifiers, List<MessageSink> results)
    {
        lock (_gate)
        {
            foreach (var identifier in identifiers)
            {
                if (_byIdentifier.TryGetValue(identifier, out var entry))
                {
                    results.AddRange(entry.Sinks);
                }
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

    internal sealed class FilterEntry(string filter, string matchFilter, MqttSubscriptionOptions options, uint identifier = 0)
    {
        /// <summary>The subscription identifier sent with SUBSCRIBE where the server supports them.</summary>
        public uint Identifier { get; } = identifier;

        public string Filter { get; } = filter;

        public string MatchFilter { get; } = matchFilter;

        public MqttSubscriptionOptions Options { get; set; } = options;

        public MessageSink[] Sinks { get; set; } = [];
    }
}
