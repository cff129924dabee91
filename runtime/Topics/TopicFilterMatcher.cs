namespace TypedMqtt.Topics;

/// <summary>
/// Matches one topic against one filter by MQTT 5 section 4.7 ('+' is one level, possibly empty; '#' is the rest,
/// including the parent level; wildcards first do not match '$' topics). Used off the hot path; routing uses the trie.
/// </summary>
internal static class TopicFilterMatcher
{
    public static bool IsMatch(string topic, string filter)
    {
        if (topic.Length > 0 && topic[0] == '$' && filter.Length > 0 && filter[0] is '+' or '#')
        {
            return false;
        }

        var t = 0;
        var f = 0;
        while (true)
        {
            var filterEnd = filter.IndexOf('/', f);
            var filterLevel = filter.AsSpan(f, (filterEnd < 0 ? filter.Length : filterEnd) - f);
            if (filterLevel is "#")
            {
                return true;
            }

            if (t > topic.Length)
            {
                return false;
            }

            var topicEnd = topic.IndexOf('/', t);
            var topicLevel = topic.AsSpan(t, (topicEnd < 0 ? topic.Length : topicEnd) - t);
            if (filterLevel is not "+" && !filterLevel.SequenceEqual(topicLevel))
            {
                return false;
            }

            if (filterEnd < 0 || topicEnd < 0)
            {
                // Both must end together, except that "a/#" matches "a".
                return filterEnd < 0 && topicEnd < 0
                    || (topicEnd < 0 && filter.AsSpan(filterEnd + 1) is "#");
            }

            t = topicEnd + 1;
            f = filterEnd + 1;
        }
    }
}
