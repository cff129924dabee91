using System.Globalization;
using System.Text;

namespace TypedMqtt.Generator.AsyncApi;

/// <summary>
/// Compact JSON text built from parts: the generator cannot count on System.Text.Json inside the compiler, and the
/// document needs only objects, arrays, strings and numbers. <see cref="Indent"/> lays the finished text out for reading.
/// </summary>
internal static class Json
{
    /// <summary>An object of the members whose value is not null, in the order given; values are JSON text.</summary>
    public static string Object(params (string Name, string? Value)[] members) => Object((IEnumerable<(string, string?)>)members);

    /// <inheritdoc cref="Object(ValueTuple{string, string}[])"/>
    public static string Object(IEnumerable<(string Name, string? Value)> members)
    {
        var text = new StringBuilder("{");
        foreach (var (name, value) in members)
        {
            if (value is null)
            {
                continue;
            }

            if (text.Length > 1)
            {
                text.Append(',');
            }

            text.Append(String(name)).Append(':').Append(value);
        }

        return text.Append('}').ToString();
    }

    /// <summary>An array of JSON texts.</summary>
    public static string Array(IEnumerable<string> items) => "[" + string.Join(",", items) + "]";

    /// <summary>A JSON string; null gives null.</summary>
    public static string? StringOrNull(string? value) => value is null ? null : String(value);

    /// <summary>A JSON string, escaped.</summary>
    public static string String(string value)
    {
        var text = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"':
                    text.Append("\\\"");
                    break;
                case '\\':
                    text.Append("\\\\");
                    break;
                case '\n':
                    text.Append("\\n");
                    break;
                case '\r':
                    text.Append("\\r");
                    break;
                case '\t':
                    text.Append("\\t");
                    break;
                default:
                    if (c < ' ')
                    {
                        text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        text.Append(c);
                    }

                    break;
            }
        }

        return text.Append('"').ToString();
    }

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Number(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Bool(bool value) => value ? "true" : "false";

    /// <summary>Lays compact JSON out with two-space indentation, one member per line (empty objects and arrays stay on one line).</summary>
    public static string Indent(string json)
    {
        var text = new StringBuilder(json.Length * 2);
        var depth = 0;
        var inString = false;
        for (var i = 0; i < json.Length; i++)
        {
            var c = json[i];
            if (inString)
            {
                text.Append(c);
                if (c == '\\')
                {
                    text.Append(json[++i]);
                }
                else if (c == '"')
                {
                    inString = false;
                }

                continue;
            }

            switch (c)
            {
                case '"':
                    inString = true;
                    text.Append(c);
                    break;
                case '{':
                case '[':
                    if (i + 1 < json.Length && json[i + 1] == (c == '{' ? '}' : ']'))
                    {
                        text.Append(c).Append(json[++i]);
                        break;
                    }

                    text.Append(c).Append('\n').Append(' ', 2 * ++depth);
                    break;
                case '}':
                case ']':
                    text.Append('\n').Append(' ', 2 * --depth).Append(c);
                    break;
                case ',':
                    text.Append(",\n").Append(' ', 2 * depth);
                    break;
                case ':':
                    text.Append(": ");
                    break;
                default:
                    text.Append(c);
                    break;
            }
        }

        return text.Append('\n').ToString();
    }
}
