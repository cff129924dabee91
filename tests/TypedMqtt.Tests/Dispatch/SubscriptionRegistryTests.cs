using TypedMqtt.Dispatch;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Dispatch;

/// <summary>
/// What the registry gives a new link to send before anything else (<see cref="SubscriptionRegistry.ForNewLink"/>): on
/// a new session every filter; on a kept session the filters the session has not confirmed at their current options,
/// and the filters whose last subscription went since. The end-to-end behaviour is in
/// <c>Delivery/KeptSessionSubscriptionTests</c>; these pin the cases no broker can time.
/// </summary>
public sealed class SubscriptionRegistryTests
{
    private static SubscriptionRegistry.FilterEntry Add(SubscriptionRegistry registry, string filter, MqttQos qos = MqttQos.AtMostOnce) =>
        registry.Add(filter, filter, MqttSubscriptionOptions.Default with { Qos = qos }, new NullSink(filter), out _);

    private static string[] ToSubscribe(SubscriptionRegistry registry, bool sessionPresent) =>
        [.. registry.ForNewLink(sessionPresent).Select(entry => entry.Filter)];

    [Fact]
    public void A_confirmed_filter_is_not_sent_again_on_a_kept_session_and_a_QoS_upgrade_unconfirms_it()
    {
        var registry = new SubscriptionRegistry();
        var entry = Add(registry, "a");
        Assert.Equal(["a"], ToSubscribe(registry, sessionPresent: true));

        entry.Confirm(entry.Version);
        Assert.Empty(ToSubscribe(registry, sessionPresent: true));

        Add(registry, "a", MqttQos.AtLeastOnce);
        Assert.Equal(["a"], ToSubscribe(registry, sessionPresent: true));
    }

    [Fact]
    public void A_SUBACK_of_the_last_session_read_late_does_not_confirm_the_filter_in_a_new_one()
    {
        var registry = new SubscriptionRegistry();
        var entry = Add(registry, "a");
        var sentOnTheLastLink = entry.Version;

        Assert.Equal(["a"], ToSubscribe(registry, sessionPresent: false));
        entry.Confirm(sentOnTheLastLink); // the old link's answer, its continuation run after the new session began
        Assert.Equal(["a"], ToSubscribe(registry, sessionPresent: true));

        entry.Confirm(entry.Version);
        Assert.Empty(ToSubscribe(registry, sessionPresent: true));
    }

    [Fact]
    public void A_gone_filter_is_taken_once_on_a_kept_session_and_forgotten_by_a_new_one()
    {
        var registry = new SubscriptionRegistry();
        var sink = new NullSink("a");
        var entry = registry.Add("a", "a", MqttSubscriptionOptions.Default, sink, out _);
        Assert.True(registry.Remove(entry, sink));

        registry.ForNewLink(sessionPresent: true);
        Assert.Equal(["a"], registry.TakeGone());
        Assert.Empty(registry.TakeGone());

        sink = new NullSink("b");
        entry = registry.Add("b", "b", MqttSubscriptionOptions.Default, sink, out _);
        registry.Remove(entry, sink);
        registry.ForNewLink(sessionPresent: false);
        Assert.Empty(registry.TakeGone());
    }

    [Fact]
    public void A_filter_subscribed_again_or_refused_by_the_broker_is_not_unsubscribed()
    {
        var registry = new SubscriptionRegistry();
        var sink = new NullSink("a");
        var entry = registry.Add("a", "a", MqttSubscriptionOptions.Default, sink, out _);
        registry.Remove(entry, sink);
        Add(registry, "a"); // its SUBSCRIBE replaces what the broker holds
        Assert.False(registry.TakeGone("a"));

        sink = new NullSink("refused");
        entry = registry.Add("refused", "refused", MqttSubscriptionOptions.Default, sink, out _);
        Assert.True(registry.Remove(entry, sink, brokerHoldsNone: true));
        Assert.Empty(registry.TakeGone());

        sink = new NullSink("lost");
        entry = registry.Add("lost", "lost", MqttSubscriptionOptions.Default, sink, out _);
        registry.Remove(entry, sink);
        Assert.True(registry.TakeGone("lost"));
        registry.StillGone("lost"); // its UNSUBSCRIBE was lost with the link
        Assert.Equal(["lost"], registry.TakeGone());
    }
}
