using System.Text;
using CsCheck;
using TypedMqtt.Topics;
using Xunit.Abstractions;

namespace TypedMqtt.Tests.Security;

/// <summary>
/// Issue 5, item 3: generated topic names and filters, checked against a small reference written from the MQTT 5 text,
/// both on <see cref="TopicRules"/> directly and through the runtime's public entry points.
/// </summary>
public sealed class TopicValidationPropertyTests(ITestOutputHelper output)
{
    private const int Iterations = 10_000;
    private const int RuntimeSample = 500;

    // ---- The reference: MQTT 5.0 sections 1.5.4 (UTF-8 strings) and 4.7.1-4.7.3 (topic names and filters). ----

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// 1.5.4: a string is well-formed UTF-8 (so UTF-16 without lone surrogates), holds no U+0000 and is at most 65,535
    /// bytes. 4.7.3: a topic name or filter is at least one character. 4.7.1: '#' alone in the last level, '+' alone in a
    /// level, and neither in a topic name. Control characters and non-characters are "SHOULD NOT" in 1.5.4, not errors,
    /// and '$' only changes what wildcards match (4.7.2), not validity: both are valid here.
    /// </summary>
    internal static bool ReferenceIsValid(string value, bool filter)
    {
        if (value.Length == 0)
        {
            return false;
        }

        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(value);
        }
        catch (EncoderFallbackException)
        {
            return false;
        }

        if (bytes > 65_535 || value.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }

        if (!filter)
        {
            return !value.Contains('+', StringComparison.Ordinal) && !value.Contains('#', StringComparison.Ordinal);
        }

        var levels = value.Split('/');
        for (var i = 0; i < levels.Length; i++)
        {
            var level = levels[i];
            if (level.Contains('#', StringComparison.Ordinal) && (level != "#" || i != levels.Length - 1))
            {
                return false;
            }

            if (level.Contains('+', StringComparison.Ordinal) && level != "+")
            {
                return false;
            }
        }

        return true;
    }

    // ---- The generator: strings biased toward what breaks validators. ----

    private static Gen<string> Single(int from, int to) => Gen.Int[from, to].Select(i => ((char)i).ToString());

    private static readonly Gen<string> Token = Gen.Frequency(
        (8, Gen.OneOf("/", "+", "#", "$")),
        (2, Gen.OneOf("\0")),
        (2, Single(0xD800, 0xDBFF)),                                                    // lone high surrogate
        (2, Single(0xDC00, 0xDFFF)),                                                    // lone low surrogate
        (3, Gen.OneOf("\uD83D\uDE00", "\uD800\uDC00", "\uDBFF\uDFFF", "\uD83C\uDF0D")), // valid pairs, 4 UTF-8 bytes
        (4, Gen.OneOf("é", "\u07FF", "\u0800", "€", "中", "\uFFFD", "\uFFFF", "\u00A0")),   // 2 and 3 UTF-8 bytes
        (2, Gen.OneOf("\u0001", "\u001F", "\u007F", "\u0085", " ")),
        (8, Single('a', 'z')),
        (3, Gen.OneOf("sensors", "$SYS", "$share", "+/", "/#", "//", "a+", "#a", "++", "##", "+#")));

    private static readonly Gen<string> Flat = Token.Array[0, 12].Select(string.Concat);

    private static readonly Gen<string> Level = Gen.Frequency(
        (4, Token.Array[0, 4].Select(string.Concat)),
        (3, Gen.OneOf(string.Empty, "+", "#", "$SYS", "a", "b")));

    private static readonly Gen<string> Levels = Level.Array[1, 7].Select(levels => string.Join('/', levels));

    // Near the 65,535-byte limit: a filler of 1-4 UTF-8 bytes per character up to a target around the limit, then
    // possibly one more interesting token (a wildcard level, a lone surrogate, ...).
    private static readonly Gen<string> Long = Gen.Select(
        Gen.Int[65_525, 65_545],
        Gen.OneOf("a", "é", "€", "\uD83D\uDE00"),
        Gen.Frequency((3, Gen.OneOf(string.Empty)), (1, Token), (1, Gen.OneOf("/#", "/+/x", "a/"))),
        (target, filler, tail) =>
        {
            var fillerBytes = Encoding.UTF8.GetByteCount(filler);
            var builder = new StringBuilder(target);
            var bytes = 0;
            while (bytes + fillerBytes <= target)
            {
                builder.Append(filler);
                bytes += fillerBytes;
            }

            builder.Append('a', target - bytes);
            return builder.Append(tail).ToString();
        });

    internal static readonly Gen<string> Topics = Gen.Frequency((5, Flat), (4, Levels), (1, Long));

    [Fact]
    public void Topic_names_agree_with_the_reference() => CompareWithReference(filter: false);

    [Fact]
    public void Topic_filters_agree_with_the_reference() => CompareWithReference(filter: true);

    private void CompareWithReference(bool filter)
    {
        var tried = 0;
        var valid = 0;
        var disagreements = 0;
        var exceptions = 0;
        var examples = new List<string>();
        try
        {
            Topics.Sample(
                value =>
                {
                    Interlocked.Increment(ref tried);
                    bool expected = ReferenceIsValid(value, filter);
                    string? error;
                    try
                    {
                        error = filter ? TopicRules.CheckTopicFilter(value) : TopicRules.CheckTopicName(value);
                    }
                    catch (Exception e)
                    {
                        Interlocked.Increment(ref exceptions);
                        Note(examples, $"threw {e.GetType().Name} for '{TopicRules.Printable(value)}'");
                        throw;
                    }

                    if (expected)
                    {
                        Interlocked.Increment(ref valid);
                    }

                    if ((error is null) != expected)
                    {
                        Interlocked.Increment(ref disagreements);
                        Note(examples, $"'{TopicRules.Printable(value)}' ({value.Length} chars): reference says {(expected ? "valid" : "invalid")}, TopicRules says {error ?? "valid"}");
                        throw new InvalidOperationException("TopicRules disagrees with the reference.");
                    }
                },
                iter: Iterations);
        }
        finally
        {
            // Counts include any shrinking runs CsCheck made after a failure.
            output.WriteLine($"{(filter ? "filters" : "topic names")}: {tried} generated ({valid} valid per the reference, {tried - valid} invalid), {disagreements} disagreements, {exceptions} unhandled exceptions");
            foreach (var example in examples)
            {
                output.WriteLine("  " + example);
            }
        }

        Assert.True(tried >= Iterations, $"only {tried} inputs were tried");
        Assert.Equal(0, disagreements);
        Assert.Equal(0, exceptions);
    }

    [Fact]
    public void Generator_reaches_every_interesting_case()
    {
        // Guards the generator itself: a change that stopped producing one class of input would make the tests above
        // pass without testing it.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        Topics.Sample(
            value =>
            {
                lock (seen)
                {
                    if (value.Length == 0)
                    {
                        seen.Add("empty");
                    }

                    if (value.Contains('\0', StringComparison.Ordinal))
                    {
                        seen.Add("nul");
                    }

                    if (StrictUtf8Fails(value))
                    {
                        seen.Add("lone surrogate");
                    }

                    if (value.Any(char.IsSurrogate) && !StrictUtf8Fails(value))
                    {
                        seen.Add("surrogate pair");
                    }

                    var bytes = StrictUtf8Fails(value) ? 0 : Encoding.UTF8.GetByteCount(value);
                    if (bytes is > 65_535 and < 65_560)
                    {
                        seen.Add("just over the limit");
                    }

                    if (bytes is >= 65_520 and <= 65_535)
                    {
                        seen.Add("at or just under the limit");
                    }

                    if (value.Contains("//", StringComparison.Ordinal) || value.StartsWith('/') || value.EndsWith('/'))
                    {
                        seen.Add("empty level");
                    }

                    if (ReferenceIsValid(value, filter: true) && value.Contains('#', StringComparison.Ordinal))
                    {
                        seen.Add("valid multi-level filter");
                    }

                    if (ReferenceIsValid(value, filter: true) && value.Contains('+', StringComparison.Ordinal))
                    {
                        seen.Add("valid single-level filter");
                    }

                    if (ReferenceIsValid(value, filter: false) && value.StartsWith('$'))
                    {
                        seen.Add("valid $ topic");
                    }
                }
            },
            iter: Iterations,
            threads: 1);
        output.WriteLine("cases reached: " + string.Join(", ", seen.Order(StringComparer.Ordinal)));
        Assert.Equal(10, seen.Count);
    }

    private static bool StrictUtf8Fails(string value)
    {
        try
        {
            StrictUtf8.GetByteCount(value);
            return false;
        }
        catch (EncoderFallbackException)
        {
            return true;
        }
    }

    [Fact]
    public async Task Runtime_entry_points_apply_the_same_rules()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var connection = await MqttConnection.ConnectAsync(broker.Address);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        void Count(string what)
        {
            lock (counts)
            {
                counts[what] = counts.GetValueOrDefault(what) + 1;
            }
        }

        await Topics.SampleAsync(
            async value =>
            {
                // Publish: invalid -> ArgumentException before anything is sent; valid -> sent (QoS 0 completes on write).
                Task Publish() => connection.PublishAsync(value, "x"u8.ToArray());
                if (ReferenceIsValid(value, filter: false))
                {
                    await Publish().WaitAsync(TimeSpan.FromSeconds(5));
                    Count("publish accepted");
                }
                else
                {
                    await Assert.ThrowsAsync<ArgumentException>(Publish);
                    Count("publish refused");
                }

                // Subscribe: invalid -> ArgumentException; valid -> SUBSCRIBE sent (the broker may still refuse it).
                Task<MqttSubscription> Subscribe() => connection.SubscribeAsync(value, (_, _, _) => Task.CompletedTask);
                if (ReferenceIsValid(value, filter: true))
                {
                    try
                    {
                        var subscription = await Subscribe().WaitAsync(TimeSpan.FromSeconds(5));
                        await subscription.DisposeAsync();
                        Count("subscribe accepted");
                    }
                    catch (MqttOperationException e) when (e.ReasonCode is not null)
                    {
                        Count("subscribe passed validation, refused by the broker");
                    }
                }
                else
                {
                    await Assert.ThrowsAsync<ArgumentException>(Subscribe);
                    Count("subscribe refused");
                }
            },
            iter: RuntimeSample,
            threads: 1);

        output.WriteLine($"runtime entry points, {RuntimeSample} generated values: " + string.Join(", ", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}")));
        Assert.True(connection.IsConnected, "the connection dropped while the generated values were sent");
        Assert.True(counts.GetValueOrDefault("publish accepted") > 0 && counts.GetValueOrDefault("publish refused") > 0, "the sample did not cover both outcomes");
    }

    private static void Note(List<string> examples, string text)
    {
        lock (examples)
        {
            if (examples.Count < 10)
            {
                examples.Add(text);
            }
        }
    }
}
