using System.Buffers;
using TypedMqtt.Dispatch;

namespace TypedMqtt;

public sealed partial class MqttConnection
{
    // A resumed session (clean start false) delivers the messages queued while the client was away right after CONNACK,
    // before the application had a chance to call SubscribeAsync again. Without a local subscription those messages were
    // acknowledged and dropped. They are held here instead (bounded, for a short while after a session-present CONNACK)
    // and handed to the first subscription that matches them.
    private const int MaxUnclaimedMessages = 4096;
    private static readonly TimeSpan UnclaimedWindow = TimeSpan.FromSeconds(30);

    private readonly object _unclaimedGate = new();
    private readonly LinkedList<UnclaimedMessage> _unclaimed = new();
    private long _holdUnclaimedUntil;

    // MQTTnet may hand us the first queued messages before ConnectAsync returns, so holding starts with the attempt.
    private void OnConnectStarting()
    {
        lock (_unclaimedGate)
        {
            _holdUnclaimedUntil = Options.CleanStart ? 0 : Environment.TickCount64 + (long)(Options.ConnectTimeout + UnclaimedWindow).TotalMilliseconds;
        }
    }

    private void OnConnectAcknowledged(bool sessionPresent)
    {
        lock (_unclaimedGate)
        {
            _holdUnclaimedUntil = sessionPresent ? Environment.TickCount64 + (long)UnclaimedWindow.TotalMilliseconds : 0;
        }
    }

    /// <summary>Collects the sinks for a message, or holds the message when it arrives for a resumed session nobody subscribed to yet.</summary>
    private void CollectOrHold(MQTTnet.MqttApplicationMessage message, List<MessageSink> sinks)
    {
        lock (_unclaimedGate)
        {
            _subscriptions.Collect(message.Topic, _entryScratch, sinks);
            if (sinks.Count > 0 || Environment.TickCount64 >= _holdUnclaimedUntil)
            {
                return;
            }

            if (_unclaimed.Count >= MaxUnclaimedMessages)
            {
                _unclaimed.RemoveFirst();
            }

            _unclaimed.AddLast(new UnclaimedMessage(message.Topic, new ReadOnlySequence<byte>(message.Payload.ToArray()), CreateContext(message), Environment.TickCount64));
        }
    }

    /// <summary>Adds a subscription and, atomically with it, takes the held messages it matches (in arrival order).</summary>
    private List<UnclaimedMessage>? AddSubscription(string brokerFilter, string filter, MqttSubscriptionOptions options, MessageSink sink, out SubscriptionRegistry.FilterEntry entry, out bool mustSubscribe)
    {
        lock (_unclaimedGate)
        {
            entry = _subscriptions.Add(brokerFilter, filter, options, sink, out mustSubscribe);
            if (_unclaimed.Count == 0)
            {
                return null;
            }

            var matcher = new TopicTrie<string>();
            matcher.Add(filter, filter);
            var matches = new List<string>(1);
            var oldest = Environment.TickCount64 - (long)UnclaimedWindow.TotalMilliseconds;
            List<UnclaimedMessage>? taken = null;
            for (var node = _unclaimed.First; node is not null;)
            {
                var next = node.Next;
                matches.Clear();
                if (node.Value.ReceivedAt < oldest)
                {
                    _unclaimed.Remove(node);
                }
                else
                {
                    matcher.Match(node.Value.Topic, matches);
                    if (matches.Count > 0)
                    {
                        (taken ??= []).Add(node.Value);
                        _unclaimed.Remove(node);
                    }
                }

                node = next;
            }

            return taken;
        }
    }

    private void ClearUnclaimed()
    {
        lock (_unclaimedGate)
        {
            _unclaimed.Clear();
        }
    }

    private sealed record UnclaimedMessage(string Topic, ReadOnlySequence<byte> Payload, MqttMessageContext Context, long ReceivedAt);
}
