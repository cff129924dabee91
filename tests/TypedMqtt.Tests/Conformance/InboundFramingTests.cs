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

    public static TheoryData<string> Cuts() => ["one byte at a time", "random cuts up to 40 bytes", "random cuts up to 3,000 bytes", "random cuts up to 40,000 bytes"];

    [Theory]
    [MemberData(nameof(Cuts))]
    public async Task Packets_cut_anywhere_by_socket_reads_arrive_whole_and_in_order(string cuts)
    {
        var maxCut = cuts switch
        {
            "one byte at a time" => 1,
            "random cuts up to 40 bytes" => 40,
            "random cuts up to 3,000 bytes" => 3_000,
            _ => 40_000,
        };

        // Small cuts stop after the first packets (a 200 KB payload byte by byte would take minutes).
        var sizes = maxCut switch
        {
            1 => PayloadSizes[..9],
            <= 40 => PayloadSizes[..13],
            _ => PayloadSizes,
        };
        var stream = Concat([.. sizes.Select((size, i) => Publish(v5: true, Str($"frame/{i}"), payload: PayloadFor(i, size)))]);
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
        await using var connection = await MqttConnection.ConnectAsync($"mqtt://127.0.0.1:{broker.Port}?clientId=framing");
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
}
