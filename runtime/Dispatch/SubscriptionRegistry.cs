namespace TypedMqtt.Dispatch;

/// <summary>
/// Every live subscription of a connection: one broker subscription per filter, any number of local sinks on it.
/// Routes a received message by MQTT 5 subscription identifier when the broker sends one (a dictionary lookup),
/// otherwise through a <see cref="TopicTrie{T}"/>; never by scanning every filter.
/// </summary>
internal sealed class SubscriptionRegistry
{
    private readonly object _gate = new();
    private readonly Dictionary<string, FilterEntry> _byFilter = new(StringComparer.Ordinal);
    private readonly Dictionary<uint, FilterEntry> _byIdentifier = [];
    private readonly TopicTrie<FilterEntry> _trie = new();
    private uint _nextIdentifier;

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

            // Identifiers 1..268,435,455 (MQTT 3.8.2.1.2); wrap around, skipping ones still in use.
            do
            {
                _nextIdentifier = _nextIdentifier >= 268_435_455 ? 1 : _nextIdentifier + 1;
            }
            while (_byIdentifier.ContainsKey(_nextIdentifier));

            entry = new FilterEntry(filter, matchFilter, _nextIdentifier, options) { Sinks = [sink] };
            _byFilter.Add(filter, entry);
            _byIdentifier.Add(entry.Identifier, entry);
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
    public void Collect(string topic, IReadOnlyList<uint>? identifiers, List<FilterEntry> scratch, List<MessageSink> results)
    {
        lock (_gate)
        {
            if (identifiers is { Count: > 0 })
            {
                for (var i = 0; i < identifiers.Count; i++)
                {
                    var identifier = identifiers[i];
                    // An identifier from a resumed session may have been reused for another filter by this
                    // connection: trust it only when its filter matches the topic.
                    if (_byIdentifier.TryGetValue(identifier, out var entry) && Topics.TopicFilterMatcher.IsMatch(topic, entry.MatchFilter))
                    {
                        results.AddRange(entry.Sinks);
                    }
                }

                if (results.Count > 0)
                {
                    return;
                }
            }

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

    internal sealed class FilterEntry(string filter, string matchFilter, uint identifier, MqttSubscriptionOptions options)
    {
        public string Filter { get; } = filter;

        public string MatchFilter { get; } = matchFilter;

        public uint Identifier { get; } = identifier;

        public MqttSubscriptionOptions Options { get; set; } = options;

        public MessageSink[] Sinks { get; set; } = [];
    }
}
