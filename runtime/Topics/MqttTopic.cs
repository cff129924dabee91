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

    /// <summary>
    /// Parses a level as <typeparamref name="T"/>, accepting only its one text form: what <typeparamref name="T"/> formats
    /// to with the invariant culture and no format string (integers without leading zeros, '+' or white space; a
    /// <see cref="Guid"/> as 32 lower-case hex digits in 8-4-4-4-12 groups). Anything else is refused, so one value has
    /// exactly one topic.
    /// </summary>
    /// <typeparam name="T">An integer type or <see cref="Guid"/>.</typeparam>
    /// <param name="level">The level.</param>
    /// <param name="parameterName">The template parameter, for the error message.</param>
    /// <returns>The value.</returns>
    /// <exception cref="FormatException">The level is not the canonical text of a <typeparamref name="T"/>.</exception>
    public static T Parse<T>(ReadOnlySpan<char> level, string parameterName)
        where T : ISpanParsable<T>, ISpanFormattable
    {
        Span<char> canonical = stackalloc char[64];
        return T.TryParse(level, CultureInfo.InvariantCulture, out var value)
            && value.TryFormat(canonical, out var length, default, CultureInfo.InvariantCulture)
            && canonical[..length].SequenceEqual(level)
            ? value
            : throw new MqttTopicLevelException(level, parameterName, typeof(T) == typeof(Guid)
                ? "a Guid in its one text form (32 lower-case hex digits as 8-4-4-4-12)"
                : $"a {typeof(T).Name} in its one text form (invariant, no leading zeros, '+' or white space)");
    }

    /// <summary>Parses a level as the declared name of an enum member, exactly as declared (no numbers, no combinations, no other case).</summary>
    /// <typeparam name="T">The enum type.</typeparam>
    /// <param name="level">The level.</param>
    /// <param name="parameterName">The template parameter, for the error message.</param>
    /// <returns>The value.</returns>
    /// <exception cref="FormatException">The level is not a member name of <typeparamref name="T"/>.</exception>
    public static T ParseEnum<T>(ReadOnlySpan<char> level, string parameterName)
        where T : struct, Enum =>
        level.Length > 0 && (char.IsLetter(level[0]) || level[0] == '_')
            && Enum.TryParse<T>(level, ignoreCase: false, out var value)
            && Enum.GetName(value) is { } name && level.SequenceEqual(name)
            ? value
            : throw new MqttTopicLevelException(level, parameterName, $"a member name of {typeof(T).Name} as declared");

    /// <summary>Parses a level as exactly <c>true</c> or <c>false</c>.</summary>
    /// <param name="level">The level.</param>
    /// <param name="parameterName">The template parameter, for the error message.</param>
    /// <returns>The value.</returns>
    /// <exception cref="FormatException">The level is neither.</exception>
    public static bool ParseBoolean(ReadOnlySpan<char> level, string parameterName)
    {
        if (level.SequenceEqual("true"))
        {
            return true;
        }

        return level.SequenceEqual("false") ? false : throw new MqttTopicLevelException(level, parameterName, "true or false");
    }

    /// <summary>Formats an enum value for a topic level: its declared member name.</summary>
    /// <typeparam name="T">The enum type.</typeparam>
    /// <param name="value">The value.</param>
    /// <param name="parameterName">The method parameter it came from.</param>
    /// <returns>The member name.</returns>
    /// <exception cref="ArgumentException">The value is not a declared member (an undefined number or a combination of flags).</exception>
    public static string FormatEnum<T>(T value, string parameterName)
        where T : struct, Enum =>
        Enum.GetName(value) ?? throw new ArgumentException(
            $"Topic parameter '{parameterName}' was {value}, which is not a declared member of {typeof(T).Name}: a topic level holds exactly one member name. Pass one of {string.Join(", ", Enum.GetNames<T>())}.",
            parameterName);

    /// <summary>Formats a boolean for a topic level: <c>true</c> or <c>false</c>.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The text.</returns>
    public static string Format(bool value) => value ? "true" : "false";
}
