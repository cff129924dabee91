using System.Buffers;
using TypedMqtt.Delivery;
using TypedMqtt.Session;

namespace TypedMqtt.Tests.Session;

/// <summary>The session's rules, on the part itself: identifiers, flow phases, a session the broker lost, inbound QoS 2.</summary>
public sealed class SessionStateTests
{
    private static PendingPublish Flow(MqttQos qos = MqttQos.ExactlyOnce, string topic = "t") =>
        new(topic, new byte[] { 1 }, qos, retain: false, properties: null, MqttOfflinePolicy.Queue, ownsPayload: true);

    private static ulong Print(string topic, byte payload) => MessageFingerprint.Of(topic, new ReadOnlySequence<byte>(new[] { payload }));

    [Fact]
    public void Identifiers_skip_those_still_in_use_and_a_flow_keeps_its_identifier_when_written_again()
    {
        var session = new SessionState();
        var first = Flow();
        session.BeginFlow(first, linkNumber: 1);
        var request = session.BeginRequest();
        var second = Flow();
        session.BeginFlow(second, linkNumber: 1);
        Assert.Equal(new ushort[] { 1, 2, 3 }, new[] { first.PacketId, request, second.PacketId });

        session.BeginFlow(first, linkNumber: 2);
        Assert.Equal((1, 2, 2), (first.PacketId, first.LinkNumber, first.Attempts));
        Assert.Equal(new[] { first, second }, session.Unfinished());
    }

    [Fact]
    public void A_QoS2_flow_finishes_only_on_PUBCOMP_after_PUBREC_and_a_QoS1_flow_on_PUBACK()
    {
        var session = new SessionState();
        var exactlyOnce = Flow();
        var atLeastOnce = Flow(MqttQos.AtLeastOnce);
        session.BeginFlow(exactlyOnce, 1);
        session.BeginFlow(atLeastOnce, 1);

        Assert.Null(session.Finish(exactlyOnce.PacketId, MqttQos.ExactlyOnce)); // PUBCOMP before PUBREC: not this flow's turn
        Assert.Null(session.Finish(exactlyOnce.PacketId, MqttQos.AtLeastOnce)); // a PUBACK for a QoS 2 flow
        Assert.Same(exactlyOnce, session.Release(exactlyOnce.PacketId, 1));
        Assert.Equal(FlowPhase.Released, exactlyOnce.Phase);
        Assert.Same(exactlyOnce, session.Finish(exactlyOnce.PacketId, MqttQos.ExactlyOnce));
        Assert.Same(atLeastOnce, session.Finish(atLeastOnce.PacketId, MqttQos.AtLeastOnce));
        Assert.Equal(0, session.OutboundCount);
    }

    [Fact]
    public void Without_a_session_flows_past_PUBREC_are_finished_and_the_others_start_again_as_new()
    {
        var session = new SessionState();
        var released = Flow();
        var published = Flow();
        session.BeginFlow(released, 1);
        session.BeginFlow(published, 1);
        session.Release(released.PacketId, 1);
        Assert.True(session.ReceiveExactlyOnce(7, duplicate: false, fingerprint: 1));

        var (finished, restart) = session.StartNew();

        Assert.Equal(new[] { released }, finished);
        Assert.Equal(new[] { published }, restart);
        Assert.Equal((0, FlowPhase.New), (published.PacketId, published.Phase));
        Assert.Equal(0, session.OutboundCount);
        Assert.Empty(session.InboundIds());
    }

    [Fact]
    public void An_inbound_QoS2_message_is_delivered_once_while_held_and_a_stale_DUP_resend_after_release_is_recognised()
    {
        var session = new SessionState();
        var a = Print("x", 1);
        Assert.True(session.ReceiveExactlyOnce(5, duplicate: false, a));
        Assert.False(session.ReceiveExactlyOnce(5, duplicate: true, a)); // resent before PUBREL
        Assert.True(session.ReleaseInbound(5));
        Assert.False(session.ReleaseInbound(5));

        // The broker restored an older snapshot and resends the finished message with DUP: not delivered again.
        Assert.False(session.ReceiveExactlyOnce(5, duplicate: true, a));
        Assert.True(session.ReleaseInbound(5));

        // The same identifier for a different message, or without DUP, is a new message.
        Assert.True(session.ReceiveExactlyOnce(5, duplicate: true, Print("x", 2)));
        Assert.True(session.ReleaseInbound(5));
        Assert.True(session.ReceiveExactlyOnce(5, duplicate: false, Print("x", 2)));
    }

    [Fact]
    public void With_an_outbox_the_flow_identifier_and_phase_and_held_inbound_identifiers_are_recorded()
    {
        var path = Path.Combine(Path.GetTempPath(), "session-" + Guid.NewGuid().ToString("N") + ".outbox");
        try
        {
            using (var outbox = new MqttFileOutbox(path))
            {
                var session = new SessionState(outbox);
                var flow = Flow();
                flow.OutboxId = outbox.Add(flow.Topic, flow.Payload.Span, flow.Qos, flow.Retain);
                session.BeginFlow(flow, 1);
                session.Release(flow.PacketId, 1);
                session.ReceiveExactlyOnce(9, duplicate: false, fingerprint: 3);
            }

            using var reopened = new MqttFileOutbox(path);
            var message = Assert.Single(reopened.Pending());
            Assert.Equal(((ushort)1, true), (message.PacketId, message.Released));
            Assert.Equal(new ushort[] { 9 }, reopened.HeldInbound());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
