using System.Globalization;
using CsCheck;

namespace TypedMqtt.Tests.Typed;

/// <summary>
/// Each topic parameter type has exactly one text form, used to publish and to parse. For every supported type, with
/// 10,000 generated cases each: formatting then parsing gives the value back; parsing then formatting gives the text
/// back; and the texts parsing accepts are exactly the canonical ones (near misses such as leading zeros, '+', white
/// space, other cases, other Guid formats, numbers for enums and flag combinations are refused).
/// </summary>
public sealed class TopicValueFormTests
{
    private const int Iterations = 10_000;

    public enum StationKind
    {
        Press,
        Weld,
        Paint,
        Inspect,
    }

    /// <summary>The one text form a value is published with (what the generated code does for each kind).</summary>
    private static string Format<T>(T value)
        where T : ISpanFormattable => value.ToString(null, CultureInfo.InvariantCulture);

    /// <summary>True when <paramref name="text"/> parses, and then it must format back to itself.</summary>
    private static bool Accepts<T>(string text, out T value)
        where T : ISpanParsable<T>, ISpanFormattable
    {
        try
        {
            value = MqttTopic.Parse<T>(text, "p");
        }
        catch (MqttTopicLevelException)
        {
            value = default!;
            return false;
        }

        Assert.Equal(text, Format(value));
        return true;
    }

    private static void Integers<T>(Gen<T> values)
        where T : ISpanParsable<T>, ISpanFormattable, IEquatable<T>
    {
        values.Sample(v => Assert.True(Accepts<T>(Format(v), out var back) && back.Equals(v)), iter: Iterations);

        // Near misses of a canonical text are refused.
        values.Sample(v =>
        {
            var text = Format(v);
            var negative = text.StartsWith('-');
            var digits = negative ? text[1..] : text;
            string[] misses = [" " + text, text + " ", "+" + text, (negative ? "-0" : "0") + digits, text + "\t", "\u0660" + digits];
            foreach (var miss in misses)
            {
                Assert.False(Accepts<T>(miss, out _), $"'{miss}' was accepted for {typeof(T).Name}");
            }
        }, iter: Iterations);

        // Arbitrary short texts: accepted exactly when they are the canonical text of the value they parse to.
        Gen.String[Gen.Char["0123456789+- abcx"], 0, 6].Sample(text =>
        {
            if (Accepts<T>(text, out var value))
            {
                Assert.Equal(Format(value), text);
            }
        }, iter: Iterations);
    }

    [Fact]
    public void Integers_have_one_text_form() => Integers(Gen.Int);

    [Fact]
    public void Longs_have_one_text_form() => Integers(Gen.Long);

    [Fact]
    public void Unsigned_and_small_integers_have_one_text_form()
    {
        Integers(Gen.UInt);
        Integers(Gen.ULong);
        Integers(Gen.Short);
        Integers(Gen.UShort);
        Integers(Gen.Byte);
        Integers(Gen.SByte);
    }

    [Fact]
    public void Guids_have_one_text_form_lower_case_with_hyphens()
    {
        Gen.Guid.Sample(g =>
        {
            var text = g.ToString("D");
            Assert.True(Accepts<Guid>(text, out var back) && back == g);
            foreach (var miss in new[] { g.ToString("N"), g.ToString("B"), g.ToString("P"), text.ToUpperInvariant(), " " + text })
            {
                if (miss != text)
                {
                    Assert.False(Accepts<Guid>(miss, out _), $"'{miss}' was accepted");
                }
            }
        }, iter: Iterations);
    }

    [Fact]
    public void Booleans_are_exactly_true_or_false()
    {
        Assert.True(MqttTopic.ParseBoolean("true", "p"));
        Assert.False(MqttTopic.ParseBoolean("false", "p"));
        Assert.Equal(("true", "false"), (MqttTopic.Format(true), MqttTopic.Format(false)));
        Gen.String[Gen.Char["truefalsTRUEFALS 01"], 0, 6].Sample(text =>
        {
            var accepted = text is "true" or "false";
            if (accepted)
            {
                Assert.Equal(text, MqttTopic.Format(MqttTopic.ParseBoolean(text, "p")));
            }
            else
            {
                Assert.Throws<MqttTopicLevelException>(() => { _ = MqttTopic.ParseBoolean(text, "p"); });
            }
        }, iter: Iterations);
    }

    [Fact]
    public void Enums_are_their_declared_member_names_only()
    {
        Gen.Enum<StationKind>().Sample(kind =>
        {
            var text = MqttTopic.FormatEnum(kind, "station");
            Assert.Equal(kind.ToString(), text);
            Assert.Equal(kind, MqttTopic.ParseEnum<StationKind>(text, "station"));
        }, iter: Iterations);

        // Whatever the text, it is accepted exactly when it is a declared name.
        var names = Enum.GetNames<StationKind>().ToHashSet(StringComparer.Ordinal);
        string[] nearMisses = [.. names, "weld", "WELD", "Weld,Paint", "Weld, Paint", "42", "-1", "1", " Weld", "Weld "];
        Gen.OneOf(Gen.String[Gen.Char["PressWeldPaintInspect,0123- "], 0, 12], Gen.Int[0, nearMisses.Length - 1].Select(i => nearMisses[i])).Sample(text =>
        {
            if (names.Contains(text))
            {
                Assert.Equal(text, MqttTopic.FormatEnum(MqttTopic.ParseEnum<StationKind>(text, "station"), "station"));
            }
            else
            {
                Assert.Throws<MqttTopicLevelException>(() => { _ = MqttTopic.ParseEnum<StationKind>(text, "station"); });
            }
        }, iter: Iterations);

        var undefined = Assert.Throws<ArgumentException>(() => { _ = MqttTopic.FormatEnum((StationKind)42, "station"); });
        Assert.Equal("station", undefined.ParamName);
        Assert.Contains("Press, Weld, Paint, Inspect", undefined.Message, StringComparison.Ordinal);
    }
}
