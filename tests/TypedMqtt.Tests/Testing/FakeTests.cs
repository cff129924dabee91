using TypedMqtt.Testing;
using TypedMqtt.Tests.Requests;
using TypedMqtt.Tests.Typed;

namespace TypedMqtt.Tests.Testing;

[MqttFake(typeof(ITelemetry))]
public partial class FakeTelemetry;

[MqttFake(typeof(IDeviceRpc))]
public partial class FakeDeviceRpc;

/// <summary>The generated fakes (TypedMqtt.Testing's [MqttFake]) behave as the client would where a unit test can tell.</summary>
public sealed class FakeTests
{
    [Fact]
    public async Task A_bad_topic_value_fails_as_it_would_on_a_connection_and_records_nothing()
    {
        var fake = new FakeTelemetry();

        var error = await Assert.ThrowsAsync<ArgumentException>(() => fake.PublishReadingAsync("a/b", 1, Mode.Idle, true, Guid.Empty, new Reading(1, "C")));

        Assert.Contains("site", error.Message, StringComparison.Ordinal);
        Assert.Empty(fake.PublishReading.Calls);
        Assert.Empty(fake.Sent);
    }

    [Fact]
    public async Task Publishes_are_recorded_with_their_topic_in_order_and_FailWith_makes_the_next_ones_fail()
    {
        var fake = new FakeTelemetry();
        var batch = Guid.Parse("6d1f0b8e-8c1a-4a57-9a0e-3f1f6f1f2a10");

        await fake.PublishReadingAsync("plant", 7, Mode.Cooling, false, batch, new Reading(2.5, "bar"));
        await fake.PublishNoteAsync("hello", "world");
        fake.PublishNote.FailWith(new MqttOperationException("refused"));
        await Assert.ThrowsAsync<MqttOperationException>(() => fake.PublishNoteAsync("again", "x").AsTask());

        var reading = fake.PublishReading.Last;
        Assert.Equal(($"test/sensors/plant/7/Cooling/false/{batch:D}", 2.5), (reading.Topic, reading.Reading.Value));
        Assert.Equal(["test/notes/hello", "test/notes/again"], fake.PublishNote.Calls.Select(c => c.MqttTopic));
        Assert.Equal(["PublishReadingAsync", "PublishNoteAsync", "PublishNoteAsync"], fake.Sent.Select(m => m.Operation));
        Assert.Equal((MqttQos.AtMostOnce, true), (fake.Sent[1].Qos, fake.Sent[1].Retain));

        fake.ClearRecorded();
        Assert.Empty(fake.Sent);
        Assert.Empty(fake.PublishNote.Calls);
    }

    [Fact]
    public async Task Delivered_messages_reach_every_handler_with_a_context_that_matches_the_topic_and_properties()
    {
        var fake = new FakeTelemetry();
        var contexts = new List<(string Path, byte[] Content, MqttMessageContext Context)>();
        await using var first = await fake.OnFileAsync((path, content, context) =>
        {
            contexts.Add((path, content, context));
            return ValueTask.CompletedTask;
        });
        await using var second = await fake.OnFileAsync((path, content, context) =>
        {
            contexts.Add((path, content, context));
            return ValueTask.CompletedTask;
        });

        var handlers = await fake.OnFile.DeliverAsync("logs/2026/12.txt", [1, 2], new MqttMessageProperties { ContentType = "text/plain", UserProperties = [new MqttUserProperty("k", "v")] }, retain: true);

        Assert.Equal(2, handlers);
        Assert.All(contexts, c =>
        {
            Assert.Equal(("logs/2026/12.txt", "test/files/logs/2026/12.txt", MqttQos.ExactlyOnce, true, "text/plain", "v"),
                (c.Path, c.Context.Topic, c.Context.Qos, c.Context.Retain, c.Context.ContentType, c.Context.GetUserProperty("k")));
        });
        Assert.Equal("test/files/#", fake.OnFile.Filter);
    }

    [Fact]
    public async Task A_handler_exception_reaches_the_test()
    {
        var fake = new FakeTelemetry();
        await using var subscription = await fake.OnNoteAsync((_, _) => throw new InvalidOperationException("handler failed"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => fake.OnNote.DeliverAsync("t", "text"));

        Assert.Equal("handler failed", error.Message);
    }

    [Fact]
    public async Task Requests_are_answered_as_set_and_an_unanswered_one_says_how_to_answer_it()
    {
        var fake = new FakeDeviceRpc();

        var unanswered = await Assert.ThrowsAsync<InvalidOperationException>(() => fake.PingAsync("f", "d"));
        Assert.Contains("Reply(", unanswered.Message, StringComparison.Ordinal);

        fake.Reboot.Reply((fleet, device, command, _) => Task.FromResult(new RebootResult(device, command.Reason, command.DelaySeconds, fleet)));
        var result = await fake.RebootAsync("north", "d1", new RebootCommand(5, "update"));
        Assert.Equal(new RebootResult("d1", "update", 5, "north"), result);
        Assert.Equal("test/rpc/north/d1/reboot", fake.Reboot.Last.Topic);

        fake.Reboot.Fail("System.IO.IOException", "disk full");
        var remote = await Assert.ThrowsAsync<MqttRequestException>(() => fake.RebootAsync("north", "d2", new RebootCommand(1, "x")));
        Assert.Equal(("System.IO.IOException", "disk full"), (remote.RemoteErrorType, remote.RemoteMessage));

        fake.Ping.TimeOut(TimeSpan.FromSeconds(3));
        var timeout = await Assert.ThrowsAsync<MqttRequestTimeoutException>(() => fake.PingAsync("f", "d"));
        Assert.Contains("test/rpc/f/d/ping", timeout.Message, StringComparison.Ordinal);

        fake.RunJob.Reply(default(RebootResult));
        Assert.Null(await fake.RunJobAsync("f", 1, null));
        Assert.Equal(3, fake.Reboot.Calls.Count + fake.RunJob.Calls.Count);
    }
}
