using System.Runtime.InteropServices;
using TypedMqtt.Link;

namespace TypedMqtt.Dispatch;

/// <summary>
/// Every live subscription of a connection: one broker subscription per filter, any number of local sinks on it.
/// Each broker subscription has its own MQTT 5 subscription identifier: a message that carries identifiers goes to the
/// sinks of exactly those subscriptions (a broker that sends one copy per matching subscription, as Mosquitto does, then
/// reaches each handler once); one without goes through a <see cref="TopicTrie{T}"/>, never a scan of every filter,
/// and the sinks found for a topic are remembered until the subscriptions change, so a topic that comes again (a
/// device's telemetry, a command channel) costs one lookup however many filters there are.
/// </summary>
internal sealed class SubscriptionRegistry
{
    /// <summary>
    /// How many topics' sinks are remembered. Past it the memory starts over, and if it found fewer repeats than new
    /// topics it rests for <see cref="WalkOnlyAfterAFill"/> messages: a stream of ever-new topics then walks the trie as
    /// it would without the memory, and at most this many topics are kept alive.
    /// </summary>
    internal const int RememberedTopics = 4_096;

    private readonly object _gate = new();
    private readonly Dictionary<string, FilterEntry> _byFilter = new(StringComparer.Ordinal);
    private readonly TopicTrie<FilterEntry> _trie = new();
    private readonly Dictionary<uint, FilterEntry> _byIdentifier = [];
    private uint _lastIdentifier;

    /// <summary>
    /// Filters whose last subscription went while the broker may still hold them and no UNSUBSCRIBE was written (the
    /// connection was down, or between links): the next link of the same session unsubscribes them.
    /// </summary>
    private readonly HashSet<string> _gone = new(StringComparer.Ordinal);

    /// <summary>How many messages walk the trie without remembering, after the memory filled up with topics seen once.</summary>
    private const int WalkOnlyAfterAFill = 64 * RememberedTopics;

    /// <summary>The sinks each recently seen topic went to; emptied whenever a sink is added or removed.</summary>
    private Dictionary<string, MessageSink[]>? _sinksByTopic;

    /// <summary>Lookups that found their topic remembered since the memory was last emptied (up to <see cref="RememberedTopics"/>).</summary>
    private int _repeats;

    /// <summary>Messages left to route without remembering (see <see cref="WalkOnlyAfterAFill"/>).</summary>
    private int _walkOnly;

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

    /// <summary>How many topics' sinks are remembered now (at most <see cref="RememberedTopics"/>).</summary>
    internal int RememberedCount
    {
        get
        {
            lock (_gate)
            {
                return _sinksByTopic?.Count ?? 0;
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
                    entry.Changed();
                }

                entry.Sinks = [.. entry.Sinks, sink];
                Forget();
                return entry;
            }

            // Identifiers run from 1 to 268,435,455 (a variable byte integer); one per broker subscription, for its lifetime.
            _lastIdentifier = _lastIdentifier >= 268_435_455 ? 1 : _lastIdentifier + 1;
            entry = new FilterEntry(filter, matchFilter, options, _lastIdentifier) { Sinks = [sink] };
            _byFilter.Add(filter, entry);
            _byIdentifier[entry.Identifier] = entry;
            _trie.Add(matchFilter, entry);
            _gone.Remove(filter); // its SUBSCRIBE replaces whatever the broker still holds
            Forget();
            mustSubscribe = true;
            return entry;
        }
    }

    /// <summary>
    /// Removes a sink; returns true when it was the filter's last one (the broker subscription should go). Unless
    /// <paramref name="brokerHoldsNone"/>, the filter is then recorded as gone until <see cref="TakeGone(string)"/> or
    /// <see cref="TakeGone()"/> takes it to unsubscribe.
    /// </summary>
    public bool Remove(FilterEntry entry, MessageSink sink, bool brokerHoldsNone = false)
    {
        lock (_gate)
        {
            entry.Sinks = Array.FindAll(entry.Sinks, s => !ReferenceEquals(s, sink));
            Forget();
            if (entry.Sinks.Length > 0 || !_byFilter.TryGetValue(entry.Filter, out var current) || !ReferenceEquals(current, entry))
            {
                return false;
            }

            _byFilter.Remove(entry.Filter);
            _byIdentifier.Remove(entry.Identifier);
            _trie.Remove(entry.MatchFilter, entry);
            if (!brokerHoldsNone)
            {
                _gone.Add(entry.Filter);
            }

            return true;
        }
    }

    /// <summary>Takes <paramref name="filter"/> from the gone filters; true when it was there (the caller unsubscribes it).</summary>
    public bool TakeGone(string filter)
    {
        lock (_gate)
        {
            return _gone.Remove(filter);
        }
    }

    /// <summary>Takes every gone filter (to unsubscribe on a link of the same session).</summary>
    public string[] TakeGone()
    {
        lock (_gate)
        {
            if (_gone.Count == 0)
            {
                return [];
            }

            string[] gone = [.. _gone];
            _gone.Clear();
            return gone;
        }
    }

    /// <summary>Records <paramref name="filter"/> as gone again (its UNSUBSCRIBE was lost with the link), unless it was subscribed again meanwhile.</summary>
    public void StillGone(string filter)
    {
        lock (_gate)
        {
            if (!_byFilter.ContainsKey(filter))
            {
                _gone.Add(filter);
            }
        }
    }

    /// <summary>Collects the sinks a message goes to.</summary>
    public void Collect(string topic, List<FilterEntry> scratch, List<MessageSink> results)
    {
        lock (_gate)
        {
            if (_walkOnly > 0)
            {
                _walkOnly--;
                Walk(topic, scratch);
                foreach (var entry in scratch)
                {
                    results.AddRange(entry.Sinks);
                }

                return;
            }

            var remembered = _sinksByTopic ??= new Dictionary<string, MessageSink[]>(StringComparer.Ordinal);
            ref var sinks = ref CollectionsMarshal.GetValueRefOrAddDefault(remembered, topic, out var known);
            if (known)
            {
                // Only compared with RememberedTopics: counting further would overflow on a connection that never fills up.
                _repeats = Math.Min(_repeats + 1, RememberedTopics);
            }
            else
            {
                Walk(topic, scratch);
                sinks = scratch.Count switch
                {
                    0 => [],
                    1 => scratch[0].Sinks, // the entry's own array: replaced, never changed, when its sinks change
                    _ => [.. scratch.SelectMany(static entry => entry.Sinks)],
                };
            }

            results.AddRange(sinks!);
            if (remembered.Count > RememberedTopics)
            {
                // Full. When fewer lookups found a topic again than there were new ones, remembering costs more than it
                // saves (a hash, an entry, memory): walk the trie alone for a while, then try again.
                if (_repeats < RememberedTopics)
                {
                    _walkOnly = WalkOnlyAfterAFill;
                }

                Forget();
            }
        }
    }

    private void Walk(string topic, List<FilterEntry> scratch)
    {
        scratch.Clear();
        _trie.Match(topic, scratch);
    }

    /// <summary>Empties the topic memory (under the lock): its sinks are out of date, or it is full.</summary>
    private void Forget()
    {
        _sinksByTopic?.Clear();
        _repeats = 0;
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

    /// <summary>Every filter (to stop their sinks).</summary>
    public FilterEntry[] Snapshot()
    {
        lock (_gate)
        {
            return [.. _byFilter.Values];
        }
    }

    /// <summary>
    /// The filters a new link must subscribe before anything else. Without a session (<paramref name="sessionPresent"/>
    /// false) the broker holds none: all of them, and nothing is left to unsubscribe. With one, the filters whose
    /// SUBSCRIBE the session has not confirmed at their current options (declared or upgraded while offline, or
    /// unanswered when the last link dropped); the gone filters stay for <see cref="TakeGone()"/>.
    /// </summary>
    public FilterEntry[] ForNewLink(bool sessionPresent)
    {
        lock (_gate)
        {
            if (sessionPresent)
            {
                return [.. _byFilter.Values.Where(static entry => !entry.Confirmed)];
            }

            _gone.Clear();
            foreach (var entry in _byFilter.Values)
            {
                // A new version, not a cleared confirmation: a SUBACK the last session sent, read late, confirms an
                // older version and so cannot confirm the filter in this session.
                entry.Changed();
            }

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

        private Restore? _restore;

        // The options' version (raised by a QoS upgrade) and the highest version a broker's SUBACK accepted in this session.
        private int _version = 1;
        private int _confirmed;

        /// <summary>Whether the session's broker accepted a SUBSCRIBE with the current options.</summary>
        public bool Confirmed => Volatile.Read(ref _confirmed) >= Volatile.Read(ref _version);

        /// <summary>The current options' version, read before the options a SUBSCRIBE sends (see <see cref="Confirm"/>).</summary>
        public int Version => Volatile.Read(ref _version);

        /// <summary>The options changed (under the registry's lock, after they were set), or a new session holds none of the filters: the broker must be asked again.</summary>
        public void Changed() => Interlocked.Increment(ref _version);

        /// <summary>A SUBSCRIBE sent at options version <paramref name="version"/> was accepted.</summary>
        public void Confirm(int version)
        {
            var confirmed = Volatile.Read(ref _confirmed);
            while (version > confirmed && Interlocked.CompareExchange(ref _confirmed, version, confirmed) is var seen && seen != confirmed)
            {
                confirmed = seen;
            }
        }

        /// <summary>
        /// The SUBSCRIBE a restore sent for this filter on <paramref name="link"/>, if it did: a call waiting to subscribe
        /// the filter on that link awaits it instead of sending the filter twice.
        /// </summary>
        public Task? RestoredOn(MqttLink link) => Volatile.Read(ref _restore) is { } restore && restore.Link == link ? restore.Subscribed : null;

        /// <summary>Records the SUBSCRIBE a restore sent for this filter on <paramref name="link"/>.</summary>
        public void Restoring(MqttLink link, Task subscribed) => Volatile.Write(ref _restore, new Restore(link, subscribed));

        private sealed record Restore(MqttLink Link, Task Subscribed);
    }
}
