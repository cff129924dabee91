using System.Collections.Concurrent;
using System.Text;
using TypedMqtt.Tests.Infrastructure;
using TypedMqtt.Tests.Requests;
using static TypedMqtt.Tests.Infrastructure.Wire;

namespace TypedMqtt.Tests.Conformance;

/// <summary>
/// Client-side rules of MQTT 3.1.1 and 5.0 checked on the bytes the client writes, read off the wire by a scripted
/// broker: the packets a real broker accepts without looking closely (flags, packet identifiers, reason codes, the order
/// of acknowledgements) and the cases a real broker will not provoke (Session Present against a clean start, a lowered
/// Receive Maximum on a resumed session, a refused PUBACK, a tiny Maximum Packet Size). docs/conformance.md names each
/// statement these cover.
/// </summary>
public sealed class ClientPacketTests
{
    public static TheoryData<MqttVersion> Versions => new() { MqttVersion.V500, MqttVersion.V311 };

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task CONNECT_without_will_or_password_sets_no_will_or_password_flags_and_carries_no_such_fields(MqttVersion version)
    {
        await using var broker = Broker();
        await using (var plain = await ConnectAsync(broker, version))
        {
            var connect = ReadConnect(broker.Sessions[0].Connect!, version);
            Assert.Equal(0, connect.Flags & 0b1111_1100); // will, will QoS, will retain, password, user name: all 0
            Assert.Null(connect.UserName);
            Assert.Null(connect.Password);
        }

        await using (var named = await ConnectAsync(broker, version, b => b.WithCredentials("reader")))
        {
            var connect = ReadConnect(broker.Sessions[1].Connect!, version);
            Assert.Equal(0b1000_0000, connect.Flags & 0b1111_1100); // user name only
            Assert.Equal("reader", connect.UserName);
            Assert.Null(connect.Password);
        }

        await using (var both = await ConnectAsync(broker, version, b => b.WithCredentials("reader", "secret")))
        {
            var connect = ReadConnect(broker.Sessions[2].Connect!, version);
            Assert.Equal(0b1100_0000, connect.Flags & 0b1111_1100);
            Assert.Equal(("reader", "secret"), (connect.UserName, connect.Password));
        }
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task A_QoS0_PUBLISH_has_DUP_0_no_packet_identifier_and_an_empty_property_block(MqttVersion version)
    {
        await using var broker = Broker();
        await using var connection = await ConnectAsync(broker, version); // topic aliases are on, but this server allows none
        var session = broker.Sessions[0];

        await connection.PublishAsync("conformance/q0", "abc"u8.ToArray(), MqttQos.AtMostOnce);
        var publish = await session.WaitForAsync(3);
        Assert.Equal(0x30, publish.Header); // PUBLISH, DUP 0, QoS 0, RETAIN 0
        Assert.Equal(Concat(Str("conformance/q0"), version == MqttVersion.V500 ? [0x00] : [], "abc"u8.ToArray()), publish.Body);

        await connection.PublishAsync("conformance/q1", "abc"u8.ToArray(), MqttQos.AtLeastOnce);
        publish = await session.WaitForAsync(3);
        Assert.Equal(0x32, publish.Header);
        Assert.Equal(Concat(Str("conformance/q1"), U16(publish.Body[16] << 8 | publish.Body[17]), version == MqttVersion.V500 ? [0x00] : [], "abc"u8.ToArray()), publish.Body);
        Assert.NotEqual(0, publish.Body[16] << 8 | publish.Body[17]);
        Assert.DoesNotContain(session.Received, p => p.Type == 15); // no AUTH without an authentication method
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task SUBSCRIBE_and_UNSUBSCRIBE_have_flags_0010_and_carry_their_one_filter(MqttVersion version)
    {
        await using var broker = Broker();
        await using var connection = await ConnectAsync(broker, version);
        var session = broker.Sessions[0];

        var subscription = await connection.SubscribeAsync("conformance/s/+", (_, _, _) => Task.CompletedTask, MqttSubscriptionOptions.Default with { Qos = MqttQos.ExactlyOnce });
        var subscribe = await session.WaitForAsync(8);
        Assert.Equal(0x82, subscribe.Header);
        var offset = SkipProperties(subscribe.Body, 2, version);
        Assert.Equal(Concat(Str("conformance/s/+"), [0x02]), subscribe.Body[offset..]);

        await subscription.DisposeAsync();
        var unsubscribe = await session.WaitForAsync(10);
        Assert.Equal(0xA2, unsubscribe.Header);
        offset = SkipProperties(unsubscribe.Body, 2, version);
        Assert.Equal(Str("conformance/s/+"), unsubscribe.Body[offset..]);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task PUBRELs_have_flags_0010_a_defined_reason_code_and_follow_the_order_of_the_PUBRECs(MqttVersion version)
    {
        await using var broker = Broker();
        await using var connection = await ConnectAsync(broker, version);
        var session = broker.Sessions[0];
        session.AnswerPublish = false;

        var publishes = Enumerable.Range(0, 5).Select(i => connection.PublishAsync($"conformance/q2/{i}", "x"u8.ToArray(), MqttQos.ExactlyOnce)).ToArray();
        var ids = (await TakeAsync(session, 5, 3)).Select(PublishId).ToList();

        // PUBRECs in reverse order, with one for an identifier the client never used in front.
        var order = Enumerable.Reverse(ids).ToList();
        await session.SendAsync(Concat([Packet(0x50, U16(999)), .. order.Select(id => Packet(0x50, U16(id)))]));

        var releases = await TakeAsync(session, 6, 6);

        Assert.All(releases, r => Assert.Equal(0x62, r.Header));
        Assert.Equal([999, .. order], releases.Select(r => r.PacketId));
        if (version == MqttVersion.V500)
        {
            Assert.Equal(0x92, releases[0].Body[2]); // Packet Identifier not found
            Assert.All(releases.Skip(1), r => Assert.Equal(0x00, ReasonOf(r)));
        }
        else
        {
            Assert.All(releases, r => Assert.Equal(2, r.Body.Length));
        }

        await session.SendAsync(Concat([.. order.Select(id => Packet(0x70, U16(id)))]));
        await Task.WhenAll(publishes).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task PUBACKs_and_PUBRECs_go_out_in_the_order_the_PUBLISHes_arrived_and_PUBCOMPs_use_defined_reason_codes(MqttVersion version)
    {
        await using var broker = Broker();
        await using var connection = await ConnectAsync(broker, version);
        var session = broker.Sessions[0];
        var v5 = version == MqttVersion.V500;
        var delivered = 0;
        await using var subscription = await connection.SubscribeAsync("conformance/in/#", (_, _, _) =>
        {
            Interlocked.Increment(ref delivered);
            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = MqttQos.ExactlyOnce });

        // QoS 1 identifiers 11-20 and QoS 2 identifiers 31-40, interleaved, in one write.
        await session.SendAsync(Concat([.. Enumerable.Range(0, 10).SelectMany(i => new[]
        {
            Publish(v5, Str($"conformance/in/a{i}"), qos: 1, packetId: 11 + i),
            Publish(v5, Str($"conformance/in/b{i}"), qos: 2, packetId: 31 + i),
        })]));

        var answers = await TakeAsync(session, 20, 4, 5);

        Assert.Equal(Enumerable.Range(11, 10), answers.Where(a => a.Type == 4).Select(a => a.PacketId));
        Assert.Equal(Enumerable.Range(31, 10), answers.Where(a => a.Type == 5).Select(a => a.PacketId));
        Assert.All(answers, a => Assert.Equal(a.Type << 4, a.Header));
        Assert.All(answers, a => Assert.Equal(0x00, ReasonOf(a)));

        await session.SendAsync(Concat([.. Enumerable.Range(31, 10).Select(id => Packet(0x62, U16(id))), Packet(0x62, U16(77))]));
        var completions = await TakeAsync(session, 11, 7);

        Assert.Equal([.. Enumerable.Range(31, 10), 77], completions.Select(c => c.PacketId));
        Assert.All(completions, c => Assert.Equal(0x70, c.Header));
        Assert.All(completions.Take(10), c => Assert.Equal(0x00, ReasonOf(c)));
        Assert.Equal(v5 ? 0x92 : 0x00, ReasonOf(completions[10])); // PUBCOMP for an unknown PUBREL: Packet Identifier not found
        Assert.Equal(20, Volatile.Read(ref delivered));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task A_message_whose_handler_throws_or_whose_payload_does_not_decode_is_still_acknowledged(MqttVersion version)
    {
        await using var broker = Broker();
        await using var connection = await ConnectAsync(broker, version);
        var session = broker.Sessions[0];
        var v5 = version == MqttVersion.V500;
        var failed = new ConcurrentQueue<string>();
        connection.MessageFailed += (_, e) => failed.Enqueue(e.Topic);
        await using var throwing = await connection.SubscribeAsync("conformance/throws/#", (_, _, _) => throw new InvalidOperationException("handler bug"),
            MqttSubscriptionOptions.Default with { Qos = MqttQos.ExactlyOnce });
        await using var undecodable = await connection.SubscribeAsync<int>("conformance/undecodable/#", static (_, _) => throw new FormatException("not a number"),
            (_, _, _) => Task.CompletedTask, MqttSubscriptionOptions.Default with { Qos = MqttQos.ExactlyOnce });

        await session.SendAsync(Concat(
            Publish(v5, Str("conformance/throws/1"), qos: 1, packetId: 5),
            Publish(v5, Str("conformance/throws/2"), qos: 2, packetId: 6),
            Publish(v5, Str("conformance/undecodable/1"), qos: 1, packetId: 7),
            Publish(v5, Str("conformance/undecodable/2"), qos: 2, packetId: 8)));

        var answers = await TakeAsync(session, 4, 4, 5);

        Assert.Equal([(4, 5), (5, 6), (4, 7), (5, 8)], answers.Select(a => (a.Type, a.PacketId)));
        await RequestScenarios.Until(() => failed.Count == 4, "4 MessageFailed events");
        Assert.True(connection.IsConnected);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task A_QoS1_PUBLISH_that_reuses_an_acknowledged_identifier_is_a_new_message_even_with_DUP_set(MqttVersion version)
    {
        await using var broker = Broker();
        await using var connection = await ConnectAsync(broker, version);
        var session = broker.Sessions[0];
        var v5 = version == MqttVersion.V500;
        await using var probe = await MessageProbe.SubscribeAsync(connection, "conformance/reuse");

        await session.SendAsync(Publish(v5, Str("conformance/reuse"), qos: 1, packetId: 9, payload: "first"u8.ToArray()));
        Assert.Equal(9, (await session.WaitForAsync(4)).PacketId);
        await session.SendAsync(Publish(v5, Str("conformance/reuse"), qos: 1, packetId: 9, payload: "second"u8.ToArray(), headerFlags: 0x08));
        Assert.Equal(9, (await session.WaitForAsync(4)).PacketId);

        Assert.Equal("first", (await probe.NextAsync()).Text);
        Assert.Equal("second", (await probe.NextAsync()).Text);
    }

    [Fact]
    public async Task A_PUBACK_or_PUBREC_with_a_failure_code_ends_the_flow_and_it_is_never_resent()
    {
        await using var broker = new ScriptedBroker(async s =>
        {
            s.AnswerPublish = false;
            await s.ConnackAsync();
            var ids = (await TakeAsync(s, 3, 3)).Select(PublishId).ToList();

            await s.SendAsync(Concat(Packet(0x40, U16(ids[0]), [0x80]), Packet(0x50, U16(ids[1]), [0x87])));
            await Task.Delay(300);
            s.Close();
        }, s => s.SendAsync(Connack(flags: 0x01))); // the session is resumed
        await using var connection = await ConnectAsync(broker, MqttVersion.V500, b => b.WithCleanStart(false).WithSessionExpiry(600));

        var refusedQos1 = connection.PublishAsync("conformance/refused/1", "a"u8.ToArray(), MqttQos.AtLeastOnce);
        var refusedQos2 = connection.PublishAsync("conformance/refused/2", "b"u8.ToArray(), MqttQos.ExactlyOnce);
        var unanswered = connection.PublishAsync("conformance/unanswered", "c"u8.ToArray(), MqttQos.AtLeastOnce);

        Assert.Equal(0x80, (await Assert.ThrowsAsync<MqttOperationException>(() => refusedQos1.WaitAsync(TimeSpan.FromSeconds(10)))).ReasonCode);
        Assert.Equal(0x87, (await Assert.ThrowsAsync<MqttOperationException>(() => refusedQos2.WaitAsync(TimeSpan.FromSeconds(10)))).ReasonCode);
        await unanswered.WaitAsync(TimeSpan.FromSeconds(15)); // resent on the resumed session, and answered there

        var resumed = broker.Sessions[1];
        await Task.Delay(500);
        var resent = Assert.Single(resumed.Received, p => p.Type is 3 or 6);
        Assert.Equal(0x3A, resent.Header); // PUBLISH, DUP 1, QoS 1
        Assert.Equal("conformance/unanswered", Encoding.UTF8.GetString(resent.Body, 2, TopicLength(resent)));
        Assert.Null(broker.ScriptError);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task After_DISCONNECT_the_client_sends_nothing_more_and_closes_the_connection(MqttVersion version)
    {
        await using var broker = Broker();
        var connection = await ConnectAsync(broker, version, b => b.WithKeepAlive(TimeSpan.FromSeconds(1)));
        var session = broker.Sessions[0];
        await connection.PublishAsync("conformance/before-disconnect", "x"u8.ToArray(), MqttQos.AtLeastOnce);

        await connection.DisposeAsync();
        await session.ClientClosed.Task.WaitAsync(TimeSpan.FromSeconds(5));
        await Task.Delay(700); // a ping would be due by now
        lock (session.Received)
        {
            Assert.Equal(14, session.Received[^1].Type);
        }
    }

    [Fact]
    public async Task The_server_keep_alive_replaces_the_keep_alive_the_client_sent()
    {
        await using var broker = new ScriptedBroker(s => s.SendAsync(Connack(properties: Props([0x13, .. U16(1)]))));
        await using var connection = await ConnectAsync(broker, MqttVersion.V500, b => b.WithKeepAlive(TimeSpan.FromSeconds(60)));
        var session = broker.Sessions[0];
        Assert.Equal(60, ReadConnect(session.Connect!, MqttVersion.V500).KeepAlive);

        var started = DateTime.UtcNow;
        await session.WaitForAsync(12);
        await session.WaitForAsync(12);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3), "two PINGREQs took longer than a 1 s keep alive allows");
    }

    [Fact]
    public async Task Inbound_topic_aliases_are_not_carried_over_to_the_next_connection()
    {
        await using var broker = new ScriptedBroker(
            async s =>
            {
                await s.ConnackAsync();
                await s.WaitForAsync(8);
                await s.SendAsync(Concat(
                    Publish(true, Str("conformance/alias"), properties: Props([0x23, .. U16(1)]), payload: "one"u8.ToArray()),
                    Publish(true, Str(string.Empty), properties: Props([0x23, .. U16(1)]), payload: "two"u8.ToArray())));
                await Task.Delay(300);
                s.Close();
            },
            async s =>
            {
                await s.ConnackAsync();
                await s.WaitForAsync(8); // the subscription restored
                await s.SendAsync(Publish(true, Str(string.Empty), properties: Props([0x23, .. U16(1)]), payload: "three"u8.ToArray()));
                await Task.Delay(Timeout.Infinite);
            });
        await using var connection = await ConnectAsync(broker, MqttVersion.V500, b => b.WithLimits(topicAliasMaximum: 5));
        var states = new ConcurrentQueue<string>();
        connection.StateChanged += (_, e) => states.Enqueue(e.Reason);
        await using var probe = await MessageProbe.SubscribeAsync(connection, "conformance/#");

        var one = await probe.NextAsync();
        var two = await probe.NextAsync();
        Assert.Equal([("conformance/alias", "one"), ("conformance/alias", "two")], [(one.Topic, one.Text), (two.Topic, two.Text)]);
        await RequestScenarios.Until(() => broker.Sessions.Count >= 2 && broker.Sessions[1].ClientClosed.Task.IsCompleted, "the client to close the second connection");
        await probe.AssertNothingAsync(TimeSpan.FromMilliseconds(300));
        Assert.Contains(states, s => s.Contains("PUBLISH uses topic alias 1, which the broker never set on this connection", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_DISCONNECT_with_reserved_flags_set_is_reported_as_malformed_not_as_the_servers_reason()
    {
        await using var broker = new ScriptedBroker(async s =>
        {
            await s.ConnackAsync();
            await s.SendAsync(0xE1, 0x02, 0x8E, 0x00); // DISCONNECT 0x8E (session taken over), flags 0001
            await Task.Delay(Timeout.Infinite);
        });
        var states = new ConcurrentQueue<MqttConnectionStateChangedEventArgs>();
        await using var connection = MqttConnection.Create(MqttConnectionOptionsBuilder.FromAddress($"mqtt://127.0.0.1:{broker.Port}").Build());
        connection.StateChanged += (_, e) => states.Enqueue(e);
        await connection.OpenAsync();

        await RequestScenarios.Until(() => states.Any(e => e.Current == MqttConnectionState.Disconnected), "the connection to drop");
        var dropped = states.First(e => e.Current == MqttConnectionState.Disconnected);
        Assert.Contains("fixed-header flags", dropped.Reason, StringComparison.Ordinal);
        Assert.NotEqual(0x8E, dropped.DisconnectReasonCode);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task A_byte_order_mark_in_a_received_topic_is_kept_as_U_FEFF(MqttVersion version)
    {
        await using var broker = Broker();
        await using var connection = await ConnectAsync(broker, version);
        await using var probe = await MessageProbe.SubscribeAsync(connection, "conformance/bom/#");

        await broker.Sessions[0].SendAsync(Publish(version == MqttVersion.V500, RawString([.. "conformance/bom/"u8, 0xEF, 0xBB, 0xBF, (byte)'x'])));

        Assert.Equal("conformance/bom/\uFEFFx", (await probe.NextAsync()).Topic);
    }

    [Fact]
    public async Task With_the_send_quota_used_up_SUBSCRIBE_PINGREQ_and_acknowledgements_still_go_out()
    {
        await using var broker = new ScriptedBroker(s => s.SendAsync(Connack(properties: Props([0x21, .. U16(1)])))); // Receive Maximum 1
        await using var connection = await ConnectAsync(broker, MqttVersion.V500, b => b.WithKeepAlive(TimeSpan.FromSeconds(1)));
        var session = broker.Sessions[0];
        session.AnswerPublish = false;

        var first = connection.PublishAsync("conformance/quota/1", "1"u8.ToArray(), MqttQos.AtLeastOnce);
        var firstPacket = await session.WaitForAsync(3);
        var second = connection.PublishAsync("conformance/quota/2", "2"u8.ToArray(), MqttQos.AtLeastOnce);

        await using var probe = await MessageProbe.SubscribeAsync(connection, "conformance/in"); // SUBSCRIBE answered while the quota is 0
        await session.SendAsync(Publish(true, Str("conformance/in"), qos: 1, packetId: 50));
        Assert.Equal(50, (await session.WaitForAsync(4)).PacketId);
        await probe.NextAsync();
        await session.WaitForAsync(12);
        Assert.Equal(1, session.Received.Count(p => p.Type == 3)); // the second PUBLISH still waits for the quota

        await session.SendAsync(Packet(0x40, U16(PublishId(firstPacket))));
        await first.WaitAsync(TimeSpan.FromSeconds(5));
        var secondPacket = await session.WaitForAsync(3);
        Assert.Equal("conformance/quota/2", Encoding.UTF8.GetString(secondPacket.Body, 2, TopicLength(secondPacket)));
        Assert.False(second.IsCompleted);
    }

    [Fact]
    public async Task A_resumed_session_resends_no_more_than_the_new_Receive_Maximum_at_once()
    {
        var outstanding = new ConcurrentQueue<int>();
        await using var broker = new ScriptedBroker(
            async s =>
            {
                s.AnswerPublish = false;
                await s.ConnackAsync();
                await TakeAsync(s, 6, 3);

                s.Close();
            },
            async s =>
            {
                s.AnswerPublish = false;
                await s.SendAsync(Connack(flags: 0x01, properties: Props([0x21, .. U16(2)]))); // resumed, Receive Maximum 2
                for (var round = 0; round < 3; round++)
                {
                    var ids = (await TakeAsync(s, 2, 3)).Select(PublishId).ToList();

                    await Task.Delay(300);
                    outstanding.Enqueue(s.Received.Count(p => p.Type == 3) - (2 * round));
                    await s.SendAsync(Concat([.. ids.Select(id => Packet(0x40, U16(id)))]));
                }

                await Task.Delay(Timeout.Infinite);
            });
        await using var connection = await ConnectAsync(broker, MqttVersion.V500, b => b.WithCleanStart(false).WithSessionExpiry(600));

        var publishes = Enumerable.Range(0, 6).Select(i => connection.PublishAsync($"conformance/resume/{i}", "x"u8.ToArray(), MqttQos.AtLeastOnce)).ToArray();
        await Task.WhenAll(publishes).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal([2, 2, 2], outstanding); // never a third PUBLISH before two PUBACKs
        Assert.Null(broker.ScriptError);
    }

    [Fact]
    public async Task A_SUBSCRIBE_larger_than_the_servers_Maximum_Packet_Size_is_refused_locally_and_one_that_fits_is_sent()
    {
        // Maximum Packet Size 64, no subscription identifiers: a SUBSCRIBE for a filter of n ASCII bytes is n + 8 bytes.
        await using var broker = new ScriptedBroker(s => s.SendAsync(Connack(properties: Props([0x27, 0, 0, 0, 64], [0x29, 0]))));
        await using var connection = await ConnectAsync(broker, MqttVersion.V500);
        var fits = "conformance/" + new string('f', 56 - 12);
        var tooLong = "conformance/" + new string('t', 57 - 12);

        var refused = await Assert.ThrowsAsync<MqttOperationException>(() => connection.SubscribeAsync(tooLong, (_, _, _) => Task.CompletedTask));
        Assert.Equal(0x95, refused.ReasonCode);
        Assert.Contains("the SUBSCRIBE would be 65 bytes, 1 more than the server's maximum packet size of 64 bytes", refused.Message, StringComparison.Ordinal);

        await using var subscription = await connection.SubscribeAsync(fits, (_, _, _) => Task.CompletedTask);
        var subscribe = Assert.Single(broker.Sessions[0].Received, p => p.Type == 8);
        Assert.Equal(64, 2 + subscribe.Body.Length);
        Assert.True(connection.IsConnected);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task A_clean_start_answered_with_Session_Present_1_is_refused_as_a_protocol_error(MqttVersion version)
    {
        await using var broker = new ScriptedBroker(s => s.SendAsync(version == MqttVersion.V500 ? Connack(flags: 0x01) : [0x20, 0x02, 0x01, 0x00]));

        var error = await Assert.ThrowsAsync<MqttConnectException>(() => ConnectAsync(broker, version));
        Assert.Equal(MqttConnectFailure.ProtocolViolation, error.Failure);
        Assert.Contains("answered a clean start (CleanStart 1) with Session Present 1", error.Message, StringComparison.Ordinal);

        // Without a clean start the same answer resumes the session.
        await using var resumed = await ConnectAsync(broker, version, b => b.WithClientId("conformance-resume").WithCleanStart(false));
        Assert.True(resumed.IsConnected);
    }

    [Fact]
    public async Task A_QoS2_message_already_sent_is_not_expired_but_finished_on_the_next_connection()
    {
        await using var broker = new ScriptedBroker(
            async s =>
            {
                s.AnswerPublish = false;
                await s.ConnackAsync();
                await s.WaitForAsync(3);
                await Task.Delay(1500); // past the message's 1 s expiry
                s.Close();
            },
            s => s.SendAsync(Connack(flags: 0x01)));
        await using var connection = await ConnectAsync(broker, MqttVersion.V500, b => b.WithCleanStart(false).WithSessionExpiry(600));

        await connection.PublishAsync("conformance/expiring", "x"u8.ToArray(), MqttQos.ExactlyOnce, properties: new MqttMessageProperties { MessageExpiryInterval = 1 })
            .WaitAsync(TimeSpan.FromSeconds(15));

        var resent = Assert.Single(broker.Sessions[1].Received, p => p.Type == 3);
        Assert.Equal(0x3C, resent.Header); // PUBLISH, DUP 1, QoS 2
        Assert.Contains(broker.Sessions[1].Received, p => p.Type == 6);
    }

    private static ScriptedBroker Broker() => new(s => s.ConnackAsync(), s => s.ConnackAsync());

    private static Task<MqttConnection> ConnectAsync(ScriptedBroker broker, MqttVersion version, Func<MqttConnectionOptionsBuilder, MqttConnectionOptionsBuilder>? configure = null)
    {
        var builder = MqttConnectionOptionsBuilder.FromAddress($"mqtt://127.0.0.1:{broker.Port}?allowInsecureCredentials=true&connectTimeout=5").WithProtocolVersion(version);
        return MqttConnection.ConnectAsync((configure?.Invoke(builder) ?? builder).Build());
    }

    /// <summary>The reason code of a PUBACK, PUBREC, PUBREL or PUBCOMP: 0x00 when left out (MQTT 5 §3.4.2.1).</summary>
    private static int ReasonOf(RawPacket acknowledgement) => acknowledgement.Body.Length > 2 ? acknowledgement.Body[2] : 0x00;

    /// <summary>The next <paramref name="count"/> packets of these types from the client.</summary>
    private static async Task<List<RawPacket>> TakeAsync(ScriptedSession session, int count, params int[] types)
    {
        var packets = new List<RawPacket>(count);
        for (var i = 0; i < count; i++)
        {
            packets.Add(await session.WaitForAsync(types));
        }

        return packets;
    }

    /// <summary>The packet identifier of a QoS 1/2 PUBLISH (after its topic).</summary>
    private static int PublishId(RawPacket publish) => publish.Body[2 + TopicLength(publish)] << 8 | publish.Body[3 + TopicLength(publish)];

    private static int TopicLength(RawPacket publish) => publish.Body[0] << 8 | publish.Body[1];

    private static int SkipProperties(byte[] body, int offset, MqttVersion version)
    {
        if (version != MqttVersion.V500)
        {
            return offset;
        }

        var (length, size) = ReadVarint(body, offset);
        return offset + size + length;
    }

    private sealed record ConnectFields(int Flags, int KeepAlive, string? UserName, string? Password);

    /// <summary>Reads CONNECT to its last byte: every field the flags announce must be there, and nothing else.</summary>
    private static ConnectFields ReadConnect(RawPacket connect, MqttVersion version)
    {
        var body = connect.Body;
        var offset = 2 + (body[0] << 8 | body[1]) + 1; // protocol name, level
        var flags = body[offset];
        var keepAlive = body[offset + 1] << 8 | body[offset + 2];
        offset = SkipProperties(body, offset + 3, version);
        offset += 2 + (body[offset] << 8 | body[offset + 1]); // client id
        if ((flags & 0b100) != 0)
        {
            offset = SkipProperties(body, offset, version);
            offset += 2 + (body[offset] << 8 | body[offset + 1]);
            offset += 2 + (body[offset] << 8 | body[offset + 1]);
        }

        string? Next(int flag)
        {
            if ((flags & flag) == 0)
            {
                return null;
            }

            var length = body[offset] << 8 | body[offset + 1];
            var text = Encoding.UTF8.GetString(body, offset + 2, length);
            offset += 2 + length;
            return text;
        }

        var userName = Next(0x80);
        var password = Next(0x40);
        Assert.Equal(body.Length, offset);
        return new ConnectFields(flags, keepAlive, userName, password);
    }
}
