using System.Text;
using MQTTnet.Packets;

namespace TypedMqtt.Link;

/// <summary>
/// The outbound topic aliases of one network connection (MQTT 5 §3.3.2.3.4), within the server's Topic Alias Maximum.
/// The first topics published get aliases 1, 2, ... and keep them for the link's life (no replacement, so no PUBLISH
/// can ever be read with a stale mapping); later topics go by name. An alias is first sent together with its topic,
/// and used alone only once a write that carried both has completed: writes that start later are ordered after it, so
/// the broker always learns the mapping before it needs it, however many publishes run at once.
/// </summary>
internal sealed class OutboundTopicAliases(ushort maximum, uint? maximumPacketSize, Delivery.DeliveryCounters counters)
{
    // Room left for properties when deciding whether the 3 bytes of a new alias still fit the server's maximum.
    private const int PropertiesAllowance = 1024;

    private readonly Dictionary<string, Alias> _aliases = new(StringComparer.Ordinal);

    /// <summary>
    /// Sets the PUBLISH's alias: alone (topic left out) when the broker knows it, with the topic when it is new or not
    /// yet confirmed. Returns the alias to <see cref="Confirm"/> once the write is done, or null.
    /// </summary>
    public Alias? Apply(MqttPublishPacket packet)
    {
        var topic = packet.Topic;
        if (string.IsNullOrEmpty(topic))
        {
            return null;
        }

        Alias? alias;
        lock (_aliases)
        {
            if (!_aliases.TryGetValue(topic, out alias))
            {
                if (_aliases.Count >= maximum || !RoomForAlias(packet, topic))
                {
                    return null;
                }

                alias = new Alias((ushort)(_aliases.Count + 1), Encoding.UTF8.GetByteCount(topic));
                _aliases[topic] = alias;
            }
        }

        packet.TopicAlias = alias.Number;
        if (alias.IsKnown)
        {
            packet.Topic = string.Empty;
            counters.AddTopicBytesSaved(alias.TopicBytes);
            return null;
        }

        return alias;
    }

    /// <summary>A write that carried the alias with its topic has completed: later writes may use the alias alone.</summary>
    public static void Confirm(Alias alias) => alias.IsKnown = true;

    private bool RoomForAlias(MqttPublishPacket packet, string topic) =>
        maximumPacketSize is not { } maximum || packet.Payload.Length + (topic.Length * 3L) + PropertiesAllowance <= maximum;

    /// <summary>One alias: its number, the topic's length, and whether the broker is sure to know it.</summary>
    internal sealed class Alias(ushort number, int topicBytes)
    {
        private volatile bool _known;

        public ushort Number { get; } = number;

        public int TopicBytes { get; } = topicBytes;

        public bool IsKnown
        {
            get => _known;
            set => _known = value;
        }
    }
}
