using CsCheck;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using TypedMqtt.Delivery;

namespace TypedMqtt.Tests.Delivery;

/// <summary>
/// The computed size of a PUBLISH against the bytes MQTTnet's encoder writes for it, over random topics (multi-byte
/// characters included), payload lengths around every Variable Byte Integer boundary, QoS, every MQTT 5 property, codec
/// defaults, topic aliases and protocol versions.
/// </summary>
public sealed class PacketSizeTests
{
    private const int Iterations = 10_000;

    private static readonly Gen<string> Text = Gen.Frequency(
        (4, Gen.String[Gen.Char['a', 'z'], 0, 40]),
        (2, Gen.OneOf("é", "€", "中", "\uD83D\uDE00").Array[0, 30].Select(parts => string.Concat(parts))),
        (1, Gen.String[Gen.Char['a', 'z'], 200, 400]));

    private static readonly Gen<string> Topic = Text.Select(t => "t/" + t);

    // Sizes on both sides of 1-, 2-, 3- and 4-byte remaining lengths, and anything in between.
    private static readonly Gen<int> PayloadLength = Gen.Frequency(
        (3, Gen.Int[0, 300]),
        (2, Gen.OneOf(Gen.Int[100, 140], Gen.Int[16_300, 16_420], Gen.Int[2_097_000, 2_097_200])),
        (1, Gen.Int[0, 70_000]));

    private static readonly Gen<MqttMessageProperties?> Properties = Gen.Frequency(
        (1, Gen.Const((MqttMessageProperties?)null)),
        (4, Gen.Select(
            Gen.Select(Text.Null(), Gen.OneOf(MqttPayloadFormat.Unspecified, MqttPayloadFormat.Utf8).Nullable(), Gen.OneOf(0u, 1u, 600u, uint.MaxValue).Nullable()),
            Gen.Select(Topic.Null(), Gen.Int[0, 300]),
            Gen.Select(Gen.String[Gen.Char['a', 'z'], 1, 20], Text).Array[0, 4],
            (first, second, users) => (MqttMessageProperties?)new MqttMessageProperties
            {
                ContentType = first.Item1,
                PayloadFormat = first.Item2,
                MessageExpiryInterval = first.Item3,
                ResponseTopic = second.Item1,
                CorrelationData = new byte[second.Item2],
                UserProperties = [.. users.Select(u => new MqttUserProperty(u.Item1, u.Item2))],
            })));

    private static readonly Gen<CodecDefaults> Defaults = Gen.OneOf(
        Gen.Const(default(CodecDefaults)),
        Gen.Const(new CodecDefaults("application/json", MqttPayloadFormat.Utf8)),
        Gen.Const(new CodecDefaults(null, MqttPayloadFormat.Utf8)));

    [Fact]
    public void The_computed_size_of_a_PUBLISH_is_the_size_MQTTnet_writes()
    {
        var formatters = new Dictionary<bool, MqttPacketFormatterAdapter>
        {
            [true] = new(MqttProtocolVersion.V500, new MqttBufferWriter(4096, 4 * 1024 * 1024)),
            [false] = new(MqttProtocolVersion.V311, new MqttBufferWriter(4096, 4 * 1024 * 1024)),
        };
        var payloads = new byte[2_100_000];
        Gen.Select(Gen.Select(Topic, PayloadLength, Gen.Int[0, 2]), Gen.Select(Properties, Defaults, Gen.Bool), Gen.Select(Gen.Int[0, 3], Gen.Bool))
            .Sample((message, extras, alias) =>
            {
                var (topic, payloadLength, qosNumber) = message;
                var (properties, defaults, version5) = extras;
                var (topicAlias, omitTopic) = alias;
                var qos = (MqttQos)qosNumber;
                if (!version5)
                {
                    (properties, defaults, topicAlias, omitTopic) = (null, default, 0, false);
                }

                omitTopic &= topicAlias != 0;
                var packet = PublishPackets.Build(omitTopic ? string.Empty : topic, payloads.AsMemory(0, payloadLength), qos, false, properties, defaults);
                packet.TopicAlias = (ushort)topicAlias;
                packet.PacketIdentifier = qos == MqttQos.AtMostOnce ? (ushort)0 : (ushort)7;

                var written = formatters[version5].Encode(packet).Length;
                formatters[version5].Cleanup();
                var computed = PacketSizes.Publish(topic, payloadLength, qos, properties, defaults, version5, (ushort)topicAlias, omitTopic);
                return written == computed;
            }, iter: Iterations, threads: 1);
    }

    [Fact]
    public void The_computed_sizes_of_SUBSCRIBE_and_UNSUBSCRIBE_are_the_sizes_MQTTnet_writes()
    {
        var formatters = new Dictionary<bool, MqttPacketFormatterAdapter>
        {
            [true] = new(MqttProtocolVersion.V500, new MqttBufferWriter(4096, 4 * 1024 * 1024)),
            [false] = new(MqttProtocolVersion.V311, new MqttBufferWriter(4096, 4 * 1024 * 1024)),
        };
        var filters = Gen.Frequency((4, Text), (1, Gen.String[Gen.Char['a', 'z'], 16_300, 16_420]));
        Gen.Select(filters, Gen.OneOf(Gen.Const(0u), Gen.UInt[1, 127], Gen.UInt[128, 16_384], Gen.UInt[2_097_151, 268_435_455]), Gen.Bool)
            .Sample((filter, identifier, version5) =>
            {
                identifier = version5 ? identifier : 0;
                var subscribe = new MqttSubscribePacket
                {
                    PacketIdentifier = 7,
                    SubscriptionIdentifier = identifier,
                    TopicFilters = [new MqttTopicFilter { Topic = filter, QualityOfServiceLevel = MQTTnet.Protocol.MqttQualityOfServiceLevel.ExactlyOnce }],
                };
                var subscribeWritten = formatters[version5].Encode(subscribe).Length;
                formatters[version5].Cleanup();
                var unsubscribeWritten = formatters[version5].Encode(new MqttUnsubscribePacket { PacketIdentifier = 7, TopicFilters = [filter] }).Length;
                formatters[version5].Cleanup();
                return subscribeWritten == PacketSizes.Subscribe(filter, identifier, version5) && unsubscribeWritten == PacketSizes.Unsubscribe(filter, version5);
            }, iter: Iterations, threads: 1);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(127, 1)]
    [InlineData(128, 2)]
    [InlineData(16_383, 2)]
    [InlineData(16_384, 3)]
    [InlineData(2_097_151, 3)]
    [InlineData(2_097_152, 4)]
    [InlineData(268_435_455, 4)]
    public void Variable_byte_integers_have_the_sizes_of_MQTT_5_section_1_5_5(long value, int bytes) =>
        Assert.Equal(bytes, PacketSizes.VariableByteIntegerSize(value));
}

/// <summary>Maximum Packet Size against Mosquitto's max_packet_size 1024: exact to the byte, refused locally, never a disconnect.</summary>
[Collection(TypedMqtt.Tests.Infrastructure.MosquittoCollection.Name)]
public sealed class MosquittoPacketSizeTests
{
    private const string Topic = "size/exact";

    [TypedMqtt.Tests.Infrastructure.MosquittoFact]
    public async Task Against_Mosquitto_a_1024_byte_PUBLISH_is_sent_and_a_1025_byte_one_is_refused_locally()
    {
        await using var broker = await TypedMqtt.Tests.Infrastructure.MosquittoBroker.StartAsync(new TypedMqtt.Tests.Infrastructure.MosquittoSetup { PlainOnly = true, GlobalConfig = "max_packet_size 1024\n" });
        await using var connection = await MqttConnection.ConnectAsync(broker.TcpAddress);
        Assert.Equal(1024u, connection.ConnectResult.MaximumPacketSize);
        var received = new List<int>();
        var arrived = new SemaphoreSlim(0);
        await using var subscription = await connection.SubscribeAsync(Topic, (payload, _, _) =>
        {
            lock (received)
            {
                received.Add(payload.Length);
            }

            arrived.Release();
            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce });

        // QoS 1, MQTT 5, no properties: 1 (fixed header) + 2 (remaining length 1,021) + 2 + 10 (topic) + 2 (packet id)
        // + 1 (property length 0) + 1,006 (payload) = 1,024 bytes.
        await connection.PublishAsync(Topic, new byte[1006], MqttQos.AtLeastOnce);
        Assert.True(await arrived.WaitAsync(TimeSpan.FromSeconds(10)), "the 1,024-byte PUBLISH did not arrive");

        var refused = await Assert.ThrowsAsync<MqttOperationException>(() => connection.PublishAsync(Topic, new byte[1007], MqttQos.AtLeastOnce));
        Assert.Equal(0x95, refused.ReasonCode);
        Assert.Contains("would be 1025 bytes, 1 more than the server's maximum packet size of 1024 bytes", refused.Message, StringComparison.Ordinal);

        // The case from the issue: 900 bytes with a 200-character user property made a 1,135-byte PUBLISH;
        // here, with a shorter topic: 1 + 2 + 12 (topic) + 2 (packet id) + 2 + 209 (the property) + 900 = 1,128 bytes.
        var withProperty = new MqttMessageProperties { UserProperties = [new MqttUserProperty("note", new string('n', 200))] };
        var tooBig = await Assert.ThrowsAsync<MqttOperationException>(() => connection.PublishAsync(Topic, new byte[900], MqttQos.AtLeastOnce, properties: withProperty));
        Assert.Contains("would be 1128 bytes", tooBig.Message, StringComparison.Ordinal);

        // Nothing reached the broker to make it disconnect: the connection still works.
        Assert.True(connection.IsConnected);
        await connection.PublishAsync(Topic, new byte[10], MqttQos.AtLeastOnce);
        Assert.True(await arrived.WaitAsync(TimeSpan.FromSeconds(10)), "the connection stopped delivering after the refusals");
        Assert.Equal([1006, 10], received);
        Assert.Equal(0, connection.Statistics.Reconnects);
    }
}
