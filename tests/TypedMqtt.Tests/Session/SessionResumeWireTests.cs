using System.Collections.Concurrent;
using System.Text;
using TypedMqtt.Tests.Infrastructure;
using static TypedMqtt.Tests.Infrastructure.Wire;

namespace TypedMqtt.Tests.Session;

/// <summary>
/// What the client writes when a session is resumed, read off the wire of a scripted broker: unfinished flows first, in
/// their original order, PUBLISH with DUP and the original packet identifier, PUBREL for a flow past PUBREC; without a
/// session present, flows start again as new messages. Also: server topic aliases, and a cancelled queued publish.
/// </summary>
public sealed class SessionResumeWireTests
{
    private static MqttConnectionOptions Options(ScriptedBroker broker, bool persistent = true, ushort? topicAliasMaximum = null) =>
        MqttConnectionOptionsBuilder.FromAddress($"mqtt://127.0.0.1:{broker.Port}?clientId=resume-{Guid.NewGuid().ToString("N")[..8]}")
            .WithCleanStart(!persistent)
            .WithSessionExpiry(persistent ? 600u : 0u)
            .WithConnectTimeout(TimeSpan.FromSeconds(3))
            .Configure(o => o with
            {
                TopicAliasMaximum = topicAliasMaximum,
                Reconnect = new MqttReconnectOptions { MinDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromMilliseconds(200) },
            })
            .Build();

    private static string TopicOf(RawPacket publish) => Encoding.UTF8.GetString(publish.Body, 2, (publish.Body[0] << 8) | publish.Body[1]);

    private static int PublishId(RawPacket publish)
    {
        var at = 2 + ((publish.Body[0] << 8) | publish.Body[1]);
        return (publish.Body[at] << 8) | publish.Body[at + 1];
    }

    private static bool Dup(RawPacket packet) => (packet.Header & 0x08) != 0;

    /// <summary>First connection: takes a QoS 1, a QoS 2 and a QoS 2 publish, answers PUBREC only for the last, waits for its PUBREL, then resets.</summary>
    private static async Task CutMidFlowAsync(ScriptedSession s)
    {
        s.AnswerPublish = false;
        await s.ConnackAsync();
        var first = await s.WaitForAsync(3);
        var second = await s.WaitForAsync(3);
        var third = await s.WaitForAsync(3);
        _ = first;
        _ = second;
        await s.SendAsync(Packet(0x50, U16(PublishId(third))));
        await s.WaitForAsync(6);
        s.Reset();
    }

    private static async Task<(MqttConnection Connection, Task A, Task B, Task C)> PublishThreeAsync(ScriptedBroker broker)
    {
        var connection = await MqttConnection.ConnectAsync(Options(broker));
        var a = connection.PublishAsync("resume/a", "a"u8.ToArray(), MqttQos.AtLeastOnce);
        var b = connection.PublishAsync("resume/b", "b"u8.ToArray(), MqttQos.ExactlyOnce);
        var c = connection.PublishAsync("resume/c", "c"u8.ToArray(), MqttQos.ExactlyOnce);
        return (connection, a, b, c);
    }

    [Fact]
    public async Task A_resumed_session_resends_PUBLISH_with_DUP_and_the_original_identifier_then_PUBREL_in_the_original_order()
    {
        await using var broker = new ScriptedBroker(CutMidFlowAsync, s => s.SendAsync(Connack(flags: 0x01)));
        var (connection, a, b, c) = await PublishThreeAsync(broker);
        await using var _ = connection;
        await Task.WhenAll(a, b, c).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Null(broker.ScriptError);

        var before = broker.Sessions[0].Received.Where(p => p.Type == 3).ToList();
        var originalIds = before.ToDictionary(TopicOf, PublishId);
        var pubrel = broker.Sessions[0].Received.Single(p => p.Type == 6);
        Assert.Equal(originalIds["resume/c"], pubrel.PacketId);

        // The second connection starts with exactly the resumed flows, in order, before anything else.
        var after = broker.Sessions[1].Received.Where(p => p.Type is 3 or 6).Take(3).ToList();
        Assert.Equal(3, after.Count);
        Assert.Equal((3, "resume/a", true, originalIds["resume/a"]), (after[0].Type, TopicOf(after[0]), Dup(after[0]), PublishId(after[0])));
        Assert.Equal((3, "resume/b", true, originalIds["resume/b"]), (after[1].Type, TopicOf(after[1]), Dup(after[1]), PublishId(after[1])));
        Assert.Equal((6, originalIds["resume/c"]), (after[2].Type, after[2].PacketId));
        Assert.DoesNotContain(broker.Sessions[1].Received, p => p.Type == 3 && TopicOf(p) == "resume/c");
        Assert.Equal(3, connection.Statistics.Resent);
    }

    [Fact]
    public async Task A_resumed_PUBREL_answered_with_PUBCOMP_0x92_completes_its_publish()
    {
        // The broker had completed c's flow before the cut (it never read our PUBCOMP... or lost it): on resume it answers
        // the resent PUBREL with 0x92 (packet identifier not found). The message was delivered, so the publish succeeds.
        async Task Resume(ScriptedSession s)
        {
            s.AnswerPublish = false;
            await s.SendAsync(Connack(flags: 0x01));
            while (true)
            {
                var packet = await s.WaitForAsync(3, 6);
                if (packet.Type == 6)
                {
                    await s.SendAsync(Packet(0x70, U16(packet.PacketId), [0x92, 0x00]));
                }
                else
                {
                    await s.SendAsync(Packet(((packet.Header >> 1) & 0x03) == 1 ? (byte)0x40 : (byte)0x50, U16(PublishId(packet))));
                }
            }
        }

        await using var broker = new ScriptedBroker(CutMidFlowAsync, Resume);
        var (connection, a, b, c) = await PublishThreeAsync(broker);
        await using var _ = connection;
        await Task.WhenAll(a, b, c).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(c.IsCompletedSuccessfully);
        Assert.Null(broker.ScriptError);
        Assert.Equal(0, connection.Statistics.Rejected);
    }

    [Fact]
    public async Task Without_a_session_present_unacknowledged_flows_start_again_as_new_messages_and_a_flow_past_PUBREC_is_done()
    {
        await using var broker = new ScriptedBroker(CutMidFlowAsync, s => s.SendAsync(Connack(flags: 0x00)));
        var (connection, a, b, c) = await PublishThreeAsync(broker);
        await using var _ = connection;
        await Task.WhenAll(a, b, c).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Null(broker.ScriptError);

        var originalC = PublishId(broker.Sessions[0].Received.First(p => p.Type == 3 && TopicOf(p) == "resume/c"));
        var after = broker.Sessions[1].Received.Where(p => p.Type is 3 or 6).ToList();
        Assert.Equal(["resume/a", "resume/b"], after.Select(p => p.Type == 3 ? TopicOf(p) : "PUBREL").Take(2));
        Assert.All(after.Take(2), p => Assert.False(Dup(p), "a flow of a session the broker does not have is a new message (DUP 0)"));

        // c had passed PUBREC: the broker took it over, so it is neither published again nor released again.
        Assert.DoesNotContain(after, p => p.Type == 3 && TopicOf(p) == "resume/c");
        var newB = PublishId(after[1]);
        Assert.All(after.Where(p => p.Type == 6), p => Assert.Equal(newB, p.PacketId));
        Assert.NotEqual(originalC, newB);
    }

    [Fact]
    public async Task Messages_the_broker_sends_with_topic_aliases_reach_handlers_under_their_topics()
    {
        const int count = 1000;
        string[] topics = ["alias/kitchen", "alias/hall", "alias/garage", "alias/attic", "alias/cellar"];
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sent = new List<(string Topic, string Payload)>();
        await using var broker = new ScriptedBroker(async s =>
        {
            await s.ConnackAsync();
            await s.WaitForAsync(8);
            await subscribed.Task;

            // Two alias slots for five topics: an alias is reused while its topic repeats and reassigned when it does not.
            var slots = new string?[3];
            var random = new Random(7);
            for (var i = 0; i < count; i++)
            {
                var topic = topics[random.Next(topics.Length)];
                var payload = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var alias = Array.IndexOf(slots, topic);
                byte[] topicField;
                if (alias > 0)
                {
                    topicField = Str(string.Empty);
                }
                else
                {
                    alias = 1 + (i % 2);
                    slots[alias] = topic;
                    topicField = Str(topic);
                }

                sent.Add((topic, payload));
                await s.SendAsync(Publish(true, topicField, qos: 1, packetId: 1 + (i % 60000), properties: Props([0x23, .. U16(alias)]), payload: Encoding.UTF8.GetBytes(payload)));
            }
        });

        var received = new ConcurrentQueue<(string Topic, string Payload)>();
        await using var connection = await MqttConnection.ConnectAsync(Options(broker, persistent: false, topicAliasMaximum: 2));
        var failures = new ConcurrentQueue<MqttMessageErrorEventArgs>();
        connection.MessageFailed += (_, e) => failures.Enqueue(e);
        await using var subscription = await connection.SubscribeAsync("alias/#", (payload, context, _) =>
        {
            received.Enqueue((context.Topic, Encoding.UTF8.GetString(payload.Span)));
            return Task.CompletedTask;
        });
        subscribed.SetResult();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (received.Count < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Null(broker.ScriptError);
        Assert.Empty(failures);
        Assert.Equal(sent, received.ToList());
        Assert.True(connection.IsConnected);
    }

    [Fact]
    public async Task A_queued_publish_cancelled_before_it_was_written_never_reaches_the_broker()
    {
        var online = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var broker = new ScriptedBroker(
            async s =>
            {
                await s.ConnackAsync();
                s.Reset();
            },
            async s =>
            {
                await online.Task;
                await s.ConnackAsync();
            });
        await using var connection = await MqttConnection.ConnectAsync(Options(broker, persistent: false));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (connection.State == MqttConnectionState.Connected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        using var cancel = new CancellationTokenSource();
        var withdrawn = connection.PublishAsync("cancel/me", "x"u8.ToArray(), MqttQos.AtLeastOnce, cancellationToken: cancel.Token);
        var kept = connection.PublishAsync("cancel/keep", "y"u8.ToArray(), MqttQos.AtLeastOnce);
        await cancel.CancelAsync();
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => withdrawn);
        Assert.Contains("withdrawn", error.Message, StringComparison.Ordinal);

        online.SetResult();
        await kept.WaitAsync(TimeSpan.FromSeconds(10));
        var topics = broker.Sessions.SelectMany(s => s.Received).Where(p => p.Type == 3).Select(TopicOf).ToList();
        Assert.Contains("cancel/keep", topics);
        Assert.DoesNotContain("cancel/me", topics);
        Assert.Equal(0, connection.Statistics.QueueLength);
    }
}
