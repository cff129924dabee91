using TypedMqtt.Dispatch;

namespace TypedMqtt.Tests.Dispatch;

public sealed class TopicTrieTests
{
    private static readonly string[] Filters =
    [
        "#", "+", "a", "a/b", "a/+", "a/#", "a/+/c", "+/b/#", "a//c", "/a", "+/+", "$SYS/#", "$SYS/+/x", "a/b/c/#",
    ];

    [Theory]
    [InlineData("a")]
    [InlineData("a/b")]
    [InlineData("a/b/c")]
    [InlineData("a//c")]
    [InlineData("/a")]
    [InlineData("x/b/y/z")]
    [InlineData("$SYS/broker/x")]
    [InlineData("$SYS")]
    [InlineData("a/b/c/d/e")]
    [InlineData("b")]
    [InlineData("a/")]
    [InlineData("/")]
    [InlineData("")]
    public void Trie_and_single_filter_matcher_agree_with_the_spec_reference(string topic)
    {
        var trie = new TopicTrie<string>();
        foreach (var filter in Filters)
        {
            trie.Add(filter, filter);
        }

        var matched = new List<string>();
        trie.Match(topic, matched);

        var expected = Filters.Where(f => SpecMatch(topic, f)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, matched.Order(StringComparer.Ordinal));
        Assert.Equal(expected, Filters.Where(f => TypedMqtt.Topics.TopicFilterMatcher.IsMatch(topic, f)).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("a//c", "a/+/c", true)] // '+' matches an empty level (MQTT 4.7.1.2); MQTTnet's comparer says no
    [InlineData("sport/", "sport/+", true)]
    [InlineData("sport", "sport/+", false)]
    [InlineData("sport", "sport/#", true)]
    [InlineData("$SYS/x", "#", false)]
    [InlineData("$SYS/x", "+/x", false)]
    [InlineData("$SYS/x", "$SYS/#", true)]
    [InlineData("/finance", "+/+", true)]
    [InlineData("/finance", "/+", true)]
    [InlineData("/finance", "+", false)]
    public void Spec_examples(string topic, string filter, bool matches)
    {
        Assert.Equal(matches, TypedMqtt.Topics.TopicFilterMatcher.IsMatch(topic, filter));
        var trie = new TopicTrie<string>();
        trie.Add(filter, filter);
        var matched = new List<string>();
        trie.Match(topic, matched);
        Assert.Equal(matches, matched.Count == 1);
    }

    // Reference written from the spec text: split both into levels and compare level by level.
    private static bool SpecMatch(string topic, string filter)
    {
        if (topic.StartsWith('$') && (filter.StartsWith('+') || filter.StartsWith('#')))
        {
            return false;
        }

        var t = topic.Split('/');
        var f = filter.Split('/');
        for (var i = 0; i < f.Length; i++)
        {
            if (f[i] == "#")
            {
                return true;
            }

            if (i >= t.Length || (f[i] != "+" && f[i] != t[i]))
            {
                return false;
            }
        }

        return t.Length == f.Length;
    }

    /// <summary>
    /// Random filters over a few level names (so levels get one child, then several, as a node's single child turns into
    /// a dictionary), added and removed in random order; the trie must always agree with the spec reference.
    /// </summary>
    [Fact]
    public void Random_filters_added_and_removed_match_as_the_spec_says()
    {
        string[] levels = ["a", "b", "", "ab", "+", "#"];
        var random = new Random(20261203);
        for (var round = 0; round < 300; round++)
        {
            var trie = new TopicTrie<string>();
            var present = new List<string>();
            for (var step = 0; step < 12; step++)
            {
                if (present.Count > 0 && random.Next(4) == 0)
                {
                    var gone = present[random.Next(present.Count)];
                    Assert.True(trie.Remove(gone, gone));
                    present.Remove(gone);
                    continue;
                }

                var depth = random.Next(1, 4);
                var filter = string.Join('/', Enumerable.Range(0, depth).Select(i => levels[random.Next(i == depth - 1 ? levels.Length : levels.Length - 1)]));
                if (!present.Contains(filter))
                {
                    trie.Add(filter, filter);
                    present.Add(filter);
                }
            }

            for (var probe = 0; probe < 10; probe++)
            {
                var topic = string.Join('/', Enumerable.Range(0, random.Next(1, 5)).Select(_ => levels[random.Next(4)]));
                var matched = new List<string>();
                trie.Match(topic, matched);
                Assert.Equal(present.Where(f => SpecMatch(topic, f)).Order(StringComparer.Ordinal), matched.Order(StringComparer.Ordinal));
            }
        }
    }

    [Fact]
    public void Removed_filters_no_longer_match()
    {
        var trie = new TopicTrie<string>();
        trie.Add("a/+", "first");
        trie.Add("a/+", "second");

        Assert.True(trie.Remove("a/+", "first"));
        Assert.False(trie.Remove("a/+", "first"));
        var matched = new List<string>();
        trie.Match("a/b", matched);

        Assert.Equal(["second"], matched);
        Assert.Equal(1, trie.Count);
    }
}
