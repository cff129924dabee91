using System.Text;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Security;

/// <summary>
/// Issue 5, item 3, examples: every string that goes on the wire is checked, and a lone surrogate is an error, never a
/// silent U+FFFD (which would put a different string on the wire than the one the application gave).
/// </summary>
public sealed class StringValidationTests
{
    private const string LoneHigh = "\uD800";
    private const string LoneLow = "\uDC00";

    public static TheoryData<string, Func<MqttConnectionOptionsBuilder, MqttConnectionOptionsBuilder>> BadConnectOptions() => new()
    {
        { "ClientId", b => b.WithClientId("dev-" + LoneHigh) },
        { "ClientId", b => b.WithClientId(LoneLow + "dev") },
        { "ClientId", b => b.WithClientId("dev\0") },
        { "Connect user property name", b => b.WithUserProperty("k" + LoneLow, "v") },
        { "Connect user property 'k' value", b => b.WithUserProperty("k", "v" + LoneHigh) },
        { "AuthenticationMethod", b => b.WithAuthentication("SCRAM" + LoneHigh) },
        { "Will topic", b => b.WithWill(new MqttWill("w/" + LoneHigh, default)) },
        { "Will content type", b => b.WithWill(new MqttWill("w", default) { Properties = new() { ContentType = "text/" + LoneLow } }) },
        { "Will user property name", b => b.WithWill(new MqttWill("w", default) { Properties = new() { UserProperties = [new(LoneHigh, "v")] } }) },
        { "Will response topic", b => b.WithWill(new MqttWill("w", default) { Properties = new() { ResponseTopic = "r/+" } }) },
        { "UserName", b => b.WithCredentials("al" + LoneHigh + "ice", "p").AllowInsecureCredentials() },
        { "Password", b => b.WithCredentials("alice", "p" + LoneLow).AllowInsecureCredentials() },
    };

    [Theory]
    [MemberData(nameof(BadConnectOptions))]
    public async Task Connect_options_with_a_bad_string_are_refused_before_any_socket_opens(string what, Func<MqttConnectionOptionsBuilder, MqttConnectionOptionsBuilder> configure)
    {
        await using var listener = new SilentListener();
        var builder = configure(MqttConnectionOptionsBuilder.FromAddress($"mqtt://127.0.0.1:{listener.Port}"));
        var error = Assert.Throws<ArgumentException>(builder.Build);
        Assert.Contains(what, error.Message, StringComparison.Ordinal);

        // Options assembled without the builder are checked again by ConnectAsync.
        var bypass = MqttConnectionOptions.Parse($"mqtt://127.0.0.1:{listener.Port}") with
        {
            ClientId = what == "ClientId" ? "dev-" + LoneHigh : "ok",
            UserProperties = what.StartsWith("Connect user property", StringComparison.Ordinal) ? [new("k" + LoneLow, "v")] : [],
        };
        if (what is "ClientId" || what.StartsWith("Connect user property", StringComparison.Ordinal))
        {
            await Assert.ThrowsAsync<ArgumentException>(() => MqttConnection.ConnectAsync(bypass));
        }

        Assert.False(listener.FirstConnection.Task.IsCompleted, "a socket was opened for invalid options");
    }

    public static TheoryData<string, MqttMessageProperties> BadMessageProperties() => new()
    {
        { "content type", new() { ContentType = "application/" + LoneHigh } },
        { "content type", new() { ContentType = LoneLow } },
        { "content type", new() { ContentType = "a\0b" } },
        { "user property name", new() { UserProperties = [new("ok", "v"), new("n" + LoneHigh, "v")] } },
        { "user property 'k' value", new() { UserProperties = [new("k", LoneLow + "v")] } },
        { "user property 'k' value", new() { UserProperties = [new("k", new string('x', 65_536))] } },
        { "response topic", new() { ResponseTopic = "replies/" + LoneHigh } },
        { "response topic", new() { ResponseTopic = "replies/#" } },
    };

    [Theory]
    [MemberData(nameof(BadMessageProperties))]
    public async Task Publish_with_a_bad_property_string_is_refused_and_nothing_is_sent(string what, MqttMessageProperties properties)
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var connection = await MqttConnection.ConnectAsync(broker.Address);
        await using var probe = await MessageProbe.SubscribeAsync(connection, "props/#");

        var error = await Assert.ThrowsAsync<ArgumentException>(() => connection.PublishAsync("props/bad", "bad"u8.ToArray(), MqttQos.AtLeastOnce, properties: properties));
        Assert.Contains(what, error.Message, StringComparison.Ordinal);

        // The next good message is the first one to arrive: the refused one never reached the broker.
        await connection.PublishAsync("props/good", "good"u8.ToArray(), MqttQos.AtLeastOnce);
        Assert.Equal("props/good", (await probe.NextAsync()).Topic);
    }

    [Fact]
    public async Task A_lone_surrogate_in_a_topic_is_refused_not_replaced()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var connection = await MqttConnection.ConnectAsync(broker.Address);
        await using var probe = await MessageProbe.SubscribeAsync(connection, "#");

        // Encoding.UTF8 would turn this into "a/\uFFFD", a topic the application never asked for.
        Assert.Equal("a/\uFFFD", Encoding.UTF8.GetString(Encoding.UTF8.GetBytes("a/" + LoneHigh)));
        await Assert.ThrowsAsync<ArgumentException>(() => connection.PublishAsync("a/" + LoneHigh, "x"u8.ToArray(), MqttQos.AtLeastOnce));
        await Assert.ThrowsAsync<ArgumentException>(() => connection.SubscribeAsync("a/" + LoneLow + "/+", (_, _, _) => Task.CompletedTask));

        await connection.PublishAsync("a/ok", "x"u8.ToArray(), MqttQos.AtLeastOnce);
        Assert.Equal("a/ok", (await probe.NextAsync()).Topic);
    }
}
