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
