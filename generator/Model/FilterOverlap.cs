namespace TypedMqtt.Generator.Model;

/// <summary>Decides whether two subscription filters can match one topic, and names such a topic.</summary>
internal static class FilterOverlap
{
    /// <summary>Returns a topic both filters match, or <see langword="null"/> when they are disjoint.</summary>
    public static string? SampleTopic(string first, string second)
    {
        var a = first.Split('/');
        var b = second.Split('/');
        var sample = new List<string>();
        for (var i = 0; ; i++)
        {
            var endA = i >= a.Length;
            var endB = i >= b.Length;
            if (endA && endB)
            {
                return string.Join("/", sample);
            }

            var levelA = endA ? null : a[i];
            var levelB = endB ? null : b[i];
            if (levelA == "#" || levelB == "#")
            {
                var other = levelA == "#" ? b : a;
                for (var j = i; j < other.Length && other[j] != "#"; j++)
                {
                    sample.Add(other[j] == "+" ? "x" : other[j]);
                }

                return sample.Count == 0 ? "x" : string.Join("/", sample);
            }

            if (endA || endB)
            {
                return null;
            }

            if (levelA == "+" || levelB == "+")
            {
                sample.Add(levelA == "+" ? (levelB == "+" ? "x" : levelB!) : levelA!);
                continue;
            }

            if (levelA != levelB)
            {
                return null;
            }

            sample.Add(levelA!);
        }
    }
}
