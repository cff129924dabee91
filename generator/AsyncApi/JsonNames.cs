using System.Text;

namespace TypedMqtt.Generator.AsyncApi;

/// <summary>
/// The member names System.Text.Json writes under each known naming policy. A test holds these to the real
/// <c>JsonNamingPolicy</c> over awkward names (acronyms, digits, one letter), since a schema with other names is wrong.
/// </summary>
internal static class JsonNames
{
    public static string Apply(NamingPolicy policy, string name) => policy switch
    {
        NamingPolicy.CamelCase => CamelCase(name),
        NamingPolicy.SnakeCaseLower => Separated(name, '_', upper: false),
        NamingPolicy.SnakeCaseUpper => Separated(name, '_', upper: true),
        NamingPolicy.KebabCaseLower => Separated(name, '-', upper: false),
        NamingPolicy.KebabCaseUpper => Separated(name, '-', upper: true),
        _ => name,
    };

    /// <summary>Lower-cases the leading capitals, except the last one of a run that starts a word: URLValue -> urlValue, ID -> id.</summary>
    private static string CamelCase(string name)
    {
        if (name.Length == 0 || !char.IsUpper(name[0]))
        {
            return name;
        }

        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (i == 1 && !char.IsUpper(chars[i]))
            {
                break;
            }

            var hasNext = i + 1 < chars.Length;
            if (i > 0 && hasNext && !char.IsUpper(chars[i + 1]))
            {
                if (chars[i + 1] == ' ')
                {
                    chars[i] = char.ToLowerInvariant(chars[i]);
                }

                break;
            }

            chars[i] = char.ToLowerInvariant(chars[i]);
        }

        return new string(chars);
    }

    /// <summary>Words split where a capital follows a small letter or digit, or ends a run of capitals, and at white space.</summary>
    private static string Separated(string name, char separator, bool upper)
    {
        var text = new StringBuilder(name.Length + 8);
        var pendingSeparator = false;
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsWhiteSpace(c))
            {
                pendingSeparator = text.Length > 0;
                continue;
            }

            if (!char.IsLetterOrDigit(c))
            {
                // Other characters ('_', '$', '-') are kept as they are, and a capital after one starts no new word.
                text.Append(c);
                pendingSeparator = false;
                continue;
            }

            if (char.IsUpper(c) && i > 0 && text.Length > 0)
            {
                var previous = name[i - 1];
                var endsCapitals = char.IsUpper(previous) && i + 1 < name.Length && char.IsLower(name[i + 1]);
                if (char.IsLower(previous) || char.IsDigit(previous) || endsCapitals)
                {
                    pendingSeparator = true;
                }
            }

            if (pendingSeparator)
            {
                text.Append(separator);
                pendingSeparator = false;
            }

            text.Append(upper ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
        }

        return text.ToString();
    }
}
