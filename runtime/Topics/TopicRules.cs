// This file is compiled into both the runtime and the generator (netstandard2.0), so that the analyzer
// and the wire apply one set of rules. Keep it free of APIs newer than netstandard2.0.
namespace TypedMqtt.Topics;

/// <summary>
/// The MQTT 5 rules for topic names, topic filters and UTF-8 strings (sections 1.5.4 and 4.7).
/// Each method returns <see langword="null"/> when the input is valid, otherwise a sentence that
/// says what is wrong.
/// </summary>
internal static class TopicRules
{
    /// <summary>The longest UTF-8 string MQTT can carry (a two-byte length prefix).</summary>
    public const int MaxUtf8Bytes = 65535;

    /// <summary>Checks that a string is well-formed UTF-16 (no lone surrogates), has no U+0000 and fits 65,535 UTF-8 bytes.</summary>
    public static string? CheckUtf8String(string value, string what)
    {
        var bytes = 0;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\0')
            {
                return $"{what} contains U+0000 at index {i}; MQTT forbids the null character in strings.";
            }

            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return $"{what} contains a lone surrogate (U+{(int)c:X4}) at index {i}; it is not valid UTF-8. Fix the string instead of letting it be replaced by U+FFFD.";
                }

                bytes += 4;
                i++;
                continue;
            }

            if (char.IsLowSurrogate(c))
            {
                return $"{what} contains a lone surrogate (U+{(int)c:X4}) at index {i}; it is not valid UTF-8. Fix the string instead of letting it be replaced by U+FFFD.";
            }

            bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
        }

        return bytes > MaxUtf8Bytes
            ? $"{what} is {bytes} UTF-8 bytes long; MQTT strings are limited to {MaxUtf8Bytes} bytes."
            : null;
    }

    /// <summary>
    /// True when <paramref name="value"/> is well-formed UTF-16 without U+0000 and fits 65,535 UTF-8 bytes. Allocates
    /// nothing: the checks run on every publish and every received message, and build a message only when they fail.
    /// </summary>
    public static bool IsWellFormed(string value)
    {
        var bytes = 0;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c < 0x80)
            {
                if (c == '\0')
                {
                    return false;
                }

                bytes++;
            }
            else if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return false;
                }

                bytes += 4;
                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
            else
            {
                bytes += c < 0x800 ? 2 : 3;
            }
        }

        return bytes <= MaxUtf8Bytes;
    }

    /// <summary>Checks a topic name used to publish: non-empty, no wildcards, valid UTF-8 (MQTT 4.7.3).</summary>
    public static string? CheckTopicName(string topic)
    {
        if (topic.Length == 0)
        {
            return "The topic is empty; a topic name must have at least one character.";
        }

        if (!IsWellFormed(topic))
        {
            return CheckUtf8String(topic, $"Topic '{Printable(topic)}'");
        }

        var wildcard = topic.IndexOfAny(Wildcards);
        return wildcard >= 0
            ? $"Topic '{Printable(topic)}' contains the wildcard '{topic[wildcard]}' at index {wildcard}; wildcards are only allowed in subscription filters."
            : null;
    }

    /// <summary>Checks a subscription filter: non-empty, '#' last and a whole level, '+' a whole level, valid UTF-8 (MQTT 4.7.1).</summary>
    public static string? CheckTopicFilter(string filter)
    {
        if (filter.Length == 0)
        {
            return "The topic filter is empty; a filter must have at least one character.";
        }

        if (!IsWellFormed(filter))
        {
            return CheckUtf8String(filter, $"Topic filter '{Printable(filter)}'");
        }

        for (var i = 0; i < filter.Length; i++)
        {
            var c = filter[i];
            if (c != '#' && c != '+')
            {
                continue;
            }

            var startsLevel = i == 0 || filter[i - 1] == '/';
            var endsLevel = i == filter.Length - 1 || filter[i + 1] == '/';
            if (!startsLevel || !endsLevel)
            {
                return $"Topic filter '{Printable(filter)}' has '{c}' at index {i} inside a level; '{c}' must occupy a whole level, as in 'a/{c}{(c == '+' ? "/b" : string.Empty)}'.";
            }

            if (c == '#' && i != filter.Length - 1)
            {
                return $"Topic filter '{Printable(filter)}' has '#' at index {i} before the last level; '#' must be the last character of a filter.";
            }
        }

        return null;
    }

    /// <summary>Checks a shared subscription filter of the form <c>$share/{group}/{filter}</c> (MQTT 4.8.2).</summary>
    public static string? CheckShareName(string group)
    {
        if (group.Length == 0)
        {
            return "The shared subscription group is empty; use a name such as 'workers'.";
        }

        var index = group.IndexOfAny(GroupForbidden);
        return index >= 0
            ? $"The shared subscription group '{Printable(group)}' contains '{group[index]}'; a group name may not contain '/', '+' or '#'."
            : CheckUtf8String(group, $"Shared subscription group '{Printable(group)}'");
    }

    /// <summary>Checks one value bound into a topic level: non-empty, no '/', '+', '#', U+0000, valid UTF-8.</summary>
    public static string? CheckLevelValue(string parameter, string value)
    {
        if (value.Length == 0)
        {
            return $"Topic parameter '{parameter}' is empty; a topic level value must have at least one character.";
        }

        var index = value.IndexOfAny(LevelForbidden);
        if (index >= 0)
        {
            var what = value[index] == '\0' ? "U+0000" : "'" + value[index] + "'";
            return $"Topic parameter '{parameter}' was '{Printable(value)}': a parameter may not contain '/', '+', '#' or U+0000 (found {what} at index {index}).";
        }

        return IsWellFormed(value) ? null : CheckUtf8String(value, $"Topic parameter '{parameter}'");
    }

    /// <summary>True when the topic is a system topic ('$' first), which a filter starting with a wildcard does not match (MQTT 4.7.2).</summary>
    public static bool IsSystemTopic(string topic) => topic.Length > 0 && topic[0] == '$';

    /// <summary>Renders a string for an error message: control characters and lone surrogates become escapes, long strings are cut.</summary>
    public static string Printable(string value)
    {
        const int Max = 80;
        var builder = new System.Text.StringBuilder(Math.Min(value.Length, Max) + 8);
        for (var i = 0; i < value.Length && builder.Length < Max; i++)
        {
            var c = value[i];
            if (char.IsControl(c) || char.IsSurrogate(c))
            {
                builder.Append("\\u").Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }

        if (builder.Length >= Max && value.Length > Max)
        {
            builder.Append("...");
        }

        return builder.ToString();
    }

    private static readonly char[] Wildcards = ['+', '#'];
    private static readonly char[] LevelForbidden = ['/', '+', '#', '\0'];
    private static readonly char[] GroupForbidden = ['/', '+', '#'];
}
