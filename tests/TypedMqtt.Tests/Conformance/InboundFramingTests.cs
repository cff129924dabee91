using System.Collections.Concurrent;
using TypedMqtt.Tests.Infrastructure;
using static TypedMqtt.Tests.Infrastructure.Wire;

namespace TypedMqtt.Tests.Conformance;

/// <summary>
/// The client decodes packets where they lie in its read buffer and assembles only those that a socket read cuts: a
/// scripted broker sends PUBLISH packets of many sizes (empty, around the 512-byte and 16 KB read chunks, larger than
/// both) as one byte stream cut at arbitrary points (one byte at a time, inside fixed headers, inside bodies), and every
/// message must arrive whole, in order.
/// </summary>
public sealed class InboundFramingTests
{
    private static readonly int[] PayloadSizes = [0, 1, 99, 300, 505, 511, 512, 513, 600, 2_000, 16_383, 16_384, 16_385, 20_000, 70_000, 3, 200_000, 7];

    private static byte[] PayloadFor(int index, int size)
    {
        var payload = new byte[size];
        for (var i = 0; i < size; i++)
        {
            payload[i] = (byte)((i * 31) + index);
        }

        return payload;
    }

    public static TheoryData<string, string> Cuts()
    {
        var data = new TheoryData<string, string>();
        foreach (var version in new[] { "5", "3.1.1" })
        {
            foreach (var cut in new[] { "one byte at a time", "random cuts up to 40 bytes", "random cuts up to 3,000 bytes", "random cuts up to 40,000 bytes" })
            {
                data.Add(version, cut);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cuts))]
    public async Task Packets_cut_anywhere_by_socket_reads_arrive_whole_and_in_order(string version, string cuts)
    {
        var maxCut = cuts switch
        {
            "one byte at a time" => 1,
            "random cuts up to 40 bytes" => 40,
            "random cuts up to 3,000 bytes" => 3_000,
            _ => 40_000,
        };

        // Small cuts stop after the first packets (a 200 KB payload byte by byte would take minutes); the largest cuts
        // end with a body of more than 2 MB, whose Remaining Length takes all four bytes.
        int[] sizes = maxCut switch
        {
            1 => PayloadSizes[..9],
            <= 40 => PayloadSizes[..13],
            3_000 => PayloadSizes,
            _ => [.. PayloadSizes, 2_200_000, 9],
        };
        var v5 = version == "5";
        var stream = Concat([.. sizes.Select((size, i) => Publish(v5, Str($"frame/{i}"), payload: PayloadFor(i, size)))]);
        await using var broker = new ScriptedBroker(async s =>
        {
            await s.ConnackAsync();
            await s.WaitForAsync(8); // SUBSCRIBE (answered by the session's reader)
            var random = new Random(maxCut);
            for (int at = 0, cut = 0; at < stream.Length; cut++)
            {
                var length = Math.Min(random.Next(1, maxCut + 1), stream.Length - at);
                await s.SendAsync(stream[at..(at + length)]);
                at += length;
                if (maxCut > 40 || cut % 10 == 0)
                {
                    await Task.Delay(1); // the client reads what came so far: the next cut comes in a read of its own
                }
            }
        });

        var received = new ConcurrentQueue<(string Topic, byte[] Payload)>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = MqttConnectionOptionsBuilder.FromAddress($"mqtt://127.0.0.1:{broker.Port}?clientId=framing&version={version}")
            .Configure(o => o with { MaxInboundPayloadBytes = 4 * 1024 * 1024 })
            .Build();
        await using var connection = await MqttConnection.ConnectAsync(options);
        await connection.SubscribeAsync("frame/#", (payload, context, _) =>
        {
            received.Enqueue((context.Topic, payload.ToArray()));
            if (received.Count == sizes.Length)
            {
                all.TrySetResult();
            }

            return Task.CompletedTask;
        });

        await all.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Null(broker.ScriptError);
        Assert.Equal(sizes.Select((_, i) => $"frame/{i}"), received.Select(r => r.Topic));
        foreach (var (topic, payload) in received)
        {
            var index = int.Parse(topic["frame/".Length..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(PayloadFor(index, sizes[index]).AsSpan().SequenceEqual(payload), $"{topic}: {payload.Length} bytes arrived, {sizes[index]} sent, or different bytes");
        }

        Assert.True(connection.IsConnected);
    }

    [Fact]
    public async Task Whole_packets_before_a_violation_are_decoded_then_the_violation_ends_reading()
    {
        // The channel reads two chunks: CONNACK, two PUBLISH packets and the start of a third; then the third's end and a
        // PUBLISH with QoS 3, which is malformed (3.3.1.2). Every whole packet before the violation is decoded, in order,
        // the one cut between the chunks included, and only then does the read fail with the violation (0x81). A scripted
        // channel, not a socket, so the cut is where the test puts it (the link above drops what it has not delivered
        // when it ends, so a broker-level test could not tell).
        var third = Publish(true, Str("frame/2"), payload: PayloadFor(2, 40));
        var first = Concat(Connack(), Publish(true, Str("frame/0"), payload: PayloadFor(0, 10)), Publish(true, Str("frame/1"), payload: PayloadFor(1, 300)), third[..20]);
        var second = Concat(third[20..], Publish(true, Str("frame/3"), qos: 3, packetId: 7));
        using var channel = new TypedMqtt.Wire.ValidatingChannel(new SlicesChannel(first, second), new TypedMqtt.Wire.InboundPacketValidator(version5: true, 1024 * 1024, 0));
        var formatter = new MQTTnet.Formatter.MqttPacketFormatterAdapter(MQTTnet.Formatter.MqttProtocolVersion.V500, new MQTTnet.Formatter.MqttBufferWriter(256, 65536));

        Assert.IsType<MQTTnet.Packets.MqttConnAckPacket>(await channel.ReceivePacketAsync(formatter, CancellationToken.None));
        foreach (var (topic, length) in new[] { ("frame/0", 10), ("frame/1", 300), ("frame/2", 40) })
        {
            var publish = Assert.IsType<MQTTnet.Packets.MqttPublishPacket>(await channel.ReceivePacketAsync(formatter, CancellationToken.None));
            Assert.Equal((topic, length), (publish.Topic, (int)publish.Payload.Length));
        }

        var failure = await Assert.ThrowsAsync<MQTTnet.Exceptions.MqttCommunicationException>(async () => await channel.ReceivePacketAsync(formatter, CancellationToken.None));
        var violation = Assert.IsType<TypedMqtt.Wire.MqttProtocolViolation>(failure.InnerException);
        Assert.Equal(0x81, violation.ReasonCode);
        Assert.Contains("QoS 3", violation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_end_of_the_stream_between_packets_is_null_and_inside_a_packet_too()
    {
        var publish = Publish(true, Str("frame/0"), payload: PayloadFor(0, 10));
        var formatter = new MQTTnet.Formatter.MqttPacketFormatterAdapter(MQTTnet.Formatter.MqttProtocolVersion.V500, new MQTTnet.Formatter.MqttBufferWriter(256, 65536));
        using var between = new TypedMqtt.Wire.ValidatingChannel(new SlicesChannel(Concat(Connack(), publish)), new TypedMqtt.Wire.InboundPacketValidator(version5: true, 1024 * 1024, 0));
        Assert.NotNull(await between.ReceivePacketAsync(formatter, CancellationToken.None));
        Assert.NotNull(await between.ReceivePacketAsync(formatter, CancellationToken.None));
        Assert.Null(await between.ReceivePacketAsync(formatter, CancellationToken.None));

        using var inside = new TypedMqtt.Wire.ValidatingChannel(new SlicesChannel(Concat(Connack(), publish[..9])), new TypedMqtt.Wire.InboundPacketValidator(version5: true, 1024 * 1024, 0));
        Assert.NotNull(await inside.ReceivePacketAsync(formatter, CancellationToken.None));
        Assert.Null(await inside.ReceivePacketAsync(formatter, CancellationToken.None));
    }

    [Fact]
    public async Task A_reset_between_packets_ends_the_stream_and_inside_a_packet_fails_the_read()
    {
        // As MQTTnet's adapter: a socket error before a packet's first two bytes is the end of the stream (null: the
        // broker closed the link); after them it is a failure the link reports as lost.
        var publish = Publish(true, Str("frame/0"), payload: PayloadFor(0, 10));
        var formatter = new MQTTnet.Formatter.MqttPacketFormatterAdapter(MQTTnet.Formatter.MqttProtocolVersion.V500, new MQTTnet.Formatter.MqttBufferWriter(256, 65536));
        using var between = new TypedMqtt.Wire.ValidatingChannel(new SlicesChannel(Connack(), null), new TypedMqtt.Wire.InboundPacketValidator(version5: true, 1024 * 1024, 0));
        Assert.NotNull(await between.ReceivePacketAsync(formatter, CancellationToken.None));
        Assert.Null(await between.ReceivePacketAsync(formatter, CancellationToken.None));

        using var inside = new TypedMqtt.Wire.ValidatingChannel(new SlicesChannel(Concat(Connack(), publish[..9]), null), new TypedMqtt.Wire.InboundPacketValidator(version5: true, 1024 * 1024, 0));
        Assert.NotNull(await inside.ReceivePacketAsync(formatter, CancellationToken.None));
        var failure = await Assert.ThrowsAsync<MQTTnet.Exceptions.MqttCommunicationException>(async () => await inside.ReceivePacketAsync(formatter, CancellationToken.None));
        Assert.IsType<System.Net.Sockets.SocketException>(failure.InnerException);
    }

    [Fact]
    public async Task A_packet_completed_after_reading_was_stopped_is_not_handed_on()
    {
        // The link stops reading (its token is cancelled) while a packet is half read; the rest arrives anyway: the
        // packet is not decoded for a link that is ending.
        var publish = Publish(true, Str("frame/0"), payload: PayloadFor(0, 10));
        var formatter = new MQTTnet.Formatter.MqttPacketFormatterAdapter(MQTTnet.Formatter.MqttProtocolVersion.V500, new MQTTnet.Formatter.MqttBufferWriter(256, 65536));
        using var channel = new TypedMqtt.Wire.ValidatingChannel(new SlicesChannel(Concat(Connack(), publish[..9]), publish[9..]), new TypedMqtt.Wire.InboundPacketValidator(version5: true, 1024 * 1024, 0));
        Assert.NotNull(await channel.ReceivePacketAsync(formatter, CancellationToken.None));
        using var stopped = new CancellationTokenSource();
        await stopped.CancelAsync();
        Assert.Null(await channel.ReceivePacketAsync(formatter, stopped.Token));
    }

    /// <summary>A channel whose reads return the given byte slices, one per read (null: the socket is reset), then the end of the stream.</summary>
    private sealed class SlicesChannel(params byte[]?[] slices) : TestChannel
    {
        private int _next;

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            if (_next == slices.Length)
            {
                return Task.FromResult(0);
            }

            var slice = slices[_next++] ?? throw new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionReset);
            Assert.True(slice.Length <= count, "a slice must fit the channel's read buffer");
            slice.CopyTo(buffer, offset);
            return Task.FromResult(slice.Length);
        }

        public override Task WriteAsync(System.Buffers.ReadOnlySequence<byte> buffer, bool isEndOfPacket, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
