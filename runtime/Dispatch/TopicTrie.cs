namespace TypedMqtt.Dispatch;

/// <summary>
/// Topic filters in a tree of levels, so matching a topic costs one step per topic level (times the wildcard
/// branches taken) instead of one comparison per filter. Not thread-safe: the registry guards it.
/// </summary>
/// <typeparam name="T">The value stored per filter.</typeparam>
internal sealed class TopicTrie<T>
    where T : class
{
    private readonly Node _root = new();

    public int Count { get; private set; }

    public void Add(string filter, T value)
    {
        var node = _root;
        foreach (var level in filter.Split('/'))
        {
            node = level switch
            {
                "+" => node.SingleLevel ??= new Node(),
                "#" => node.MultiLevel ??= new Node(),
                _ => node.GetOrAddChild(level),
            };
        }

        node.AddValue(value);
        Count++;
    }

    public bool Remove(string filter, T value)
    {
        var node = _root;
        foreach (var level in filter.Split('/'))
        {
            var next = level switch
            {
                "+" => node.SingleLevel,
                "#" => node.MultiLevel,
                _ => node.TryGetChild(level.AsSpan()),
            };
            if (next is null)
            {
                return false;
            }

            node = next;
        }

        if (!node.RemoveValue(value))
        {
            return false;
        }

        Count--;
        return true;
    }

    /// <summary>Adds every value whose filter matches <paramref name="topic"/> to <paramref name="results"/>.</summary>
    public void Match(string topic, List<T> results)
    {
        // MQTT 4.7.2: a filter starting with a wildcard does not match a topic starting with '$'.
        var system = topic.Length > 0 && topic[0] == '$';
        Match(_root, topic.AsSpan(), isFirstLevel: true, system, results);
    }

    private static void Match(Node node, ReadOnlySpan<char> rest, bool isFirstLevel, bool system, List<T> results)
    {
        var wildcardsAllowed = !(isFirstLevel && system);
        if (wildcardsAllowed && node.MultiLevel is { } multi)
        {
            // '#' also matches the parent level itself ("a/#" matches "a").
            AddValues(multi, results);
        }

        var slash = rest.IndexOf('/');
        var level = slash < 0 ? rest : rest[..slash];
        var remainder = slash < 0 ? default : rest[(slash + 1)..];
        var isLast = slash < 0;

        if (node.TryGetChild(level) is { } child)
        {
            Visit(child, remainder, isLast, system, results);
        }

        if (wildcardsAllowed && node.SingleLevel is { } single)
        {
            Visit(single, remainder, isLast, system, results);
        }
    }

    private static void Visit(Node node, ReadOnlySpan<char> remainder, bool isLast, bool system, List<T> results)
    {
        if (isLast)
        {
            AddValues(node, results);
            if (node.MultiLevel is { } multi)
            {
                AddValues(multi, results);
            }
        }
        else
        {
            Match(node, remainder, isFirstLevel: false, system, results);
        }
    }

    private static void AddValues(Node node, List<T> results)
    {
        // Most nodes on a walk are inner levels with no filter ending there; skip the interface call AddRange makes.
        if (node.Values is { Count: > 0 } values)
        {
            results.AddRange(values);
        }
    }

    /// <summary>
    /// One level. Most levels of real filters have a few children (<c>home/kitchen/temperature</c>), so a node keeps up to
    /// <see cref="SmallChildren"/> children in two small arrays, compared in turn (cheaper than hashing the level), and
    /// builds a dictionary only for more; a connection with one subscription then holds no dictionary at all.
    /// </summary>
    private sealed class Node
    {
        private const int SmallChildren = 4;

        private string[]? _levels;
        private Node[]? _nodes;
        private int _count;
        private Dictionary<string, Node>? _children;
#if NET9_0_OR_GREATER
        private Dictionary<string, Node>.AlternateLookup<ReadOnlySpan<char>> _lookup;
#endif

        public Node? SingleLevel { get; set; }

        public Node? MultiLevel { get; set; }

        /// <summary>The values of filters that end here, or null when none ever did.</summary>
        public List<T>? Values { get; private set; }

        public void AddValue(T value) => (Values ??= []).Add(value);

        public bool RemoveValue(T value) => Values?.Remove(value) == true;

        public Node GetOrAddChild(string level)
        {
            if (TryGetChild(level.AsSpan()) is { } existing)
            {
                return existing;
            }

            var child = new Node();
            if (_children is not null)
            {
                _children.Add(level, child);
                return child;
            }

            if (_count < SmallChildren)
            {
                if (_levels is null || _count == _levels.Length)
                {
                    var size = _count == 0 ? 1 : _count * 2;
                    Array.Resize(ref _levels, size);
                    Array.Resize(ref _nodes, size);
                }

                _levels[_count] = level;
                _nodes![_count] = child;
                _count++;
                return child;
            }

            _children = new Dictionary<string, Node>(StringComparer.Ordinal);
            for (var i = 0; i < _count; i++)
            {
                _children.Add(_levels![i], _nodes![i]);
            }

            _children.Add(level, child);
#if NET9_0_OR_GREATER
            _lookup = _children.GetAlternateLookup<ReadOnlySpan<char>>();
#endif
            _levels = null;
            _nodes = null;
            _count = 0;
            return child;
        }

        public Node? TryGetChild(ReadOnlySpan<char> level)
        {
            if (_children is not null)
            {
#if NET9_0_OR_GREATER
                return _lookup.TryGetValue(level, out var child) ? child : null;
#else
                return _children.TryGetValue(level.ToString(), out var child) ? child : null;
#endif
            }

            for (var i = 0; i < _count; i++)
            {
                if (level.SequenceEqual(_levels![i]))
                {
                    return _nodes![i];
                }
            }

            return null;
        }
    }
}
