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

        node.Values.Add(value);
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

        if (!node.Values.Remove(value))
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
        if (node.Values.Count > 0)
        {
            results.AddRange(node.Values);
        }
    }

    private sealed class Node
    {
        private Dictionary<string, Node>? _children;
#if NET9_0_OR_GREATER
        private Dictionary<string, Node>.AlternateLookup<ReadOnlySpan<char>> _lookup;
#endif

        public Node? SingleLevel { get; set; }

        public Node? MultiLevel { get; set; }

        public List<T> Values { get; } = [];

        public Node GetOrAddChild(string level)
        {
            if (_children is null)
            {
                _children = new Dictionary<string, Node>(StringComparer.Ordinal);
#if NET9_0_OR_GREATER
                _lookup = _children.GetAlternateLookup<ReadOnlySpan<char>>();
#endif
            }

            if (!_children.TryGetValue(level, out var child))
            {
                child = new Node();
                _children.Add(level, child);
            }

            return child;
        }

        public Node? TryGetChild(ReadOnlySpan<char> level)
        {
            if (_children is null)
            {
                return null;
            }
#if NET9_0_OR_GREATER
            return _lookup.TryGetValue(level, out var child) ? child : null;
#else
            return _children.TryGetValue(level.ToString(), out var child) ? child : null;
#endif
        }
    }
}
