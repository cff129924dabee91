using System.ComponentModel;
using System.Globalization;

namespace TypedMqtt;

/// <summary>
/// Topic helpers used by generated clients: check a value before it goes into a topic level, and read typed values
/// back out of a received topic. Public so generated code can call them; not meant for hand-written code.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class MqttTopic
{
    /// <summary>Returns <paramref name="value"/> if it can be one topic level; otherwise throws naming the parameter.</summary>
    /// <param name="value">The value.</param>
    /// <param name="parameterName">The method parameter it came from.</param>
    /// <returns>The value.</returns>
    /// <exception cref="ArgumentException">Empty, or contains '/', '+', '#', U+0000 or a lone surrogate.</exception>
    public static string Level(string value, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(value, parameterName);
        var error = Topics.TopicRules.CheckLevelValue(parameterName, value);
        return error is null ? value : throw new ArgumentException(error, parameterName);
    }

    /// <summary>Returns <paramref name="value"/> if it can be the trailing levels of a topic ('/' allowed, wildcards not).</summary>
    /// <param name="value">The value.</param>
    /// <param name="parameterName">The method parameter it came from.</param>
    /// <returns>The value.</returns>
    public static string Rest(string value, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(value, parameterName);
        string? error = null;
        if (value.Length == 0)
        {
            error = $"Topic parameter '{parameterName}' is empty; the trailing levels must have at least one character.";
        }
        else if (value.AsSpan().IndexOfAny('+', '#', '\0') is var index and >= 0)
        {
            error = $"Topic parameter '{parameterName}' was '{Topics.TopicRules.Printable(value)}': it may contain '/' but not '+', '#' or U+0000 (found at index {index}).";
        }

        error ??= Topics.TopicRules.CheckUtf8String(value, $"Topic parameter '{parameterName}'");
        return error is null ? value : throw new ArgumentException(error, parameterName);
    }

    /// <summary>Returns level <paramref name="index"/> (0-based) of <paramref name="topic"/>.</summary>
    /// <param name="topic">A received topic.</param>
    /// <param name="index">The level.</param>
    /// <returns>The level's characters.</returns>
    /// <exception cref="FormatException">The topic has fewer levels.</exception>
    public static ReadOnlySpan<char> GetLevel(string topic, int index)
    {
        var rest = topic.AsSpan();
        for (var i = 0; i < index; i++)
        {
            var slash = rest.IndexOf('/');
            if (slash < 0)
            {
                throw new FormatException($"Topic '{topic}' has fewer than {index + 1} levels.");
            }

            rest = rest[(slash + 1)..];
        }

        var end = rest.IndexOf('/');
        return end < 0 ? rest : rest[..end];
    }

    /// <summary>
    /// Returns <paramref name="last"/> when it already holds <paramref name="text"/>, otherwise a new string, which becomes
    /// <paramref name="last"/>. A call site that keeps publishing to the same topic, or receiving the same level value,
    /// then allocates no string per message. Strings are immutable: threads racing on <paramref name="last"/> at worst
    /// allocate one string more.
    /// </summary>
    /// <param name="last">The call site's previous string.</param>
    /// <param name="text">The characters wanted.</param>
    /// <returns>A string equal to <paramref name="text"/>.</returns>
    public static string Reuse(ref string? last, ReadOnlySpan<char> text)
    {
        var previous = last;
        if (previous is not null && text.SequenceEqual(previous))
        {
            return previous;
        }

        var created = text.ToString();
        last = created;
        return created;
    }

    /// <summary>Returns the levels of <paramref name="topic"/> from level <paramref name="index"/> to the end.</summary>
    /// <param name="topic">A received topic.</param>
    /// <param name="index">The first level.</param>
    /// <returns>The trailing levels, '/' included.</returns>
    public static string GetRest(string topic, int index)
    {
        var start = 0;
        for (var i = 0; i < index; i++)
        {
            var slash = topic.IndexOf('/', start);
            if (slash < 0)
            {
                // "a/#" also matches "a": the catch-all is then empty.
                return string.Empty;
            }

            start = slash + 1;
        }

        return topic[start..];
    }

    /// <summary>Parses a level as <typeparamref name="T"/> with the invariant culture.</summary>
    /// <typeparam name="T">A parsable type (integers, <see cref="Guid"/>...).</typeparam>
    /// <param name="level">The level.</param>
    /// <param name="parameterName">The template parameter, for the error message.</param>
    /// <returns>The value.</returns>
    public static T Parse<T>(ReadOnlySpan<char> level, string parameterName)
        where T : ISpanParsable<T> =>
        T.TryParse(level, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new FormatException($"Topic level '{level}' for parameter '{parameterName}' is not a valid {typeof(T).Name}.");

    /// <summary>Parses a level as an enum member name (case-sensitive) or number.</summary>
    /// <typeparam name="T">The enum type.</typeparam>
    /// <param name="level">The level.</param>
    /// <param name="parameterName">The template parameter, for the error message.</param>
    /// <returns>The value.</returns>
    public static T ParseEnum<T>(ReadOnlySpan<char> level, string parameterName)
        where T : struct, Enum =>
        Enum.TryParse<T>(level, ignoreCase: false, out var value)
            ? value
            : throw new FormatException($"Topic level '{level}' for parameter '{parameterName}' is not a member of {typeof(T).Name}.");

    /// <summary>Parses a level as <c>true</c> or <c>false</c> (any case).</summary>
    /// <param name="level">The level.</param>
    /// <param name="parameterName">The template parameter, for the error message.</param>
    /// <returns>The value.</returns>
    public static bool ParseBoolean(ReadOnlySpan<char> level, string parameterName) =>
        bool.TryParse(level, out var value)
            ? value
            : throw new FormatException($"Topic level '{level}' for parameter '{parameterName}' is not true or false.");

    /// <summary>Formats a boolean for a topic level: <c>true</c> or <c>false</c>.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The text.</returns>
    public static string Format(bool value) => value ? "true" : "false";
}
