using System.Collections.Concurrent;
using System.Text;

namespace TypedMqtt.Tests.Connection;

/// <summary>
/// Outbound packets are coalesced into fewer socket writes (Wire/CoalescingWriter). Whatever the batching, order is
/// kept, and a normal disconnect writes everything buffered before the DISCONNECT closes the socket.
/// </summary>
public sealed class WriteCoalescingTests
{
    [Fact]
    public async Task Many_QoS0_publishes_in_flight_at_once_arrive_complete_and_in_order()
    {
        // More than MQTTnet's default of 1,000 pending messages per client, which the embedded broker raises
        // (EmbeddedMqttBroker.MaxPendingMessagesPerClient): with the default, a subscriber lagging on a loaded machine lost some.
        const int Messages = 5_000;
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var subscriber = await MqttConnection.ConnectAsync(broker.Address);
        var received = new ConcurrentQueue<int>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await subscriber.SubscribeAsync("burst/#", (payload, _, _) =>
        {
            received.Enqueue(int.Parse(Encoding.UTF8.GetString(payload.Span), System.Globalization.CultureInfo.InvariantCulture));
            if (received.Count == Messages)
            {
                all.TrySetResult();
            }

            return Task.CompletedTask;
        });

        await using (var publisher = await MqttConnection.ConnectAsync(broker.Address))
        {
            // Not awaited one by one: many packets are buffered while a write is under way.
            var publishes = Enumerable.Range(0, Messages)
                .Select(i => publisher.PublishAsync("burst/x", Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture))))
                .ToList();
            await Task.WhenAll(publishes).WaitAsync(TimeSpan.FromSeconds(20));
        }

        await all.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(Enumerable.Range(0, Messages), received);
    }

    [Fact]
    public async Task A_disconnect_right_after_QoS0_publishes_still_delivers_them_and_sends_no_will()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var subscriber = await MqttConnection.ConnectAsync(broker.Address);
        var received = new ConcurrentQueue<string>();
        await using var subscription = await subscriber.SubscribeAsync("last/#", (payload, context, _) =>
        {
            received.Enqueue(context.Topic + "=" + Encoding.UTF8.GetString(payload.Span));
            return Task.CompletedTask;
        });

        var publisher = await MqttConnection.ConnectAsync(broker.Address, b => b.WithWill(new MqttWill("last/will", Encoding.UTF8.GetBytes("gone"))));
        for (var i = 0; i < 100; i++)
        {
            _ = publisher.PublishAsync("last/data", Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        await publisher.DisposeAsync(); // DISCONNECT 0x00 right behind the buffered publishes

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (received.Count < 100 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await Task.Delay(300); // a will would have arrived by now
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"last/data={i}"), received);
    }

    [Fact]
    public async Task A_disconnect_right_after_a_large_burst_still_delivers_all_of_it_and_sends_no_will()
    {
        // Megabytes still in the kernel's send buffer when DisposeAsync closes the socket: a reset (zero linger) would
        // discard them and the DISCONNECT; a normal close sends them first.
        const int Messages = 2_000;
        var payload = new byte[1_000];
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var subscriber = await MqttConnection.ConnectAsync(broker.Address);
        var received = 0;
        var will = 0;
        await using var subscription = await subscriber.SubscribeAsync("bulk/#", (_, context, _) =>
        {
            if (context.Topic == "bulk/will")
            {
                Interlocked.Increment(ref will);
            }
            else
            {
                Interlocked.Increment(ref received);
            }

            return Task.CompletedTask;
        });

        var publisher = await MqttConnection.ConnectAsync(broker.Address, b => b.WithWill(new MqttWill("bulk/will", Encoding.UTF8.GetBytes("gone"))));
        for (var i = 0; i < Messages; i++)
        {
            _ = publisher.PublishAsync("bulk/data", payload);
        }

        await publisher.DisposeAsync();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (Volatile.Read(ref received) < Messages && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await Task.Delay(300); // a will would have arrived by now
        Assert.Equal((Messages, 0), (Volatile.Read(ref received), Volatile.Read(ref will)));
    }

    [Fact]
    public async Task A_packet_on_a_quiet_link_is_written_before_WriteAsync_returns_and_a_burst_behind_it_keeps_its_order()
    {
        // Quiet link: written on the caller's thread (no thread-pool hop for a request/acknowledgement exchange).
        var channel = new RecordingChannel();
        var writer = new TypedMqtt.Wire.CoalescingWriter(channel);
        await writer.WriteAsync(new System.Buffers.ReadOnlySequence<byte>([0]), isEndOfPacket: true);
        Assert.Equal(1, channel.Writes);
        Assert.Equal(Environment.CurrentManagedThreadId, channel.LastThread);

        // A burst right behind it: coalesced or not, every byte arrives once and in order.
        for (byte i = 1; i <= 200; i++)
        {
            await writer.WriteAsync(new System.Buffers.ReadOnlySequence<byte>([i]), isEndOfPacket: true);
        }

        await writer.FlushPendingAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(Enumerable.Range(0, 201).Select(i => (byte)i), channel.Bytes);
        Assert.True(channel.Writes <= 201);
    }

    /// <summary>A channel that keeps what is written to it (the writer's unit under test is the batching, not a socket).</summary>
    private sealed class RecordingChannel : Infrastructure.TestChannel
    {
        private readonly List<byte> _bytes = [];

        public int Writes { get; private set; }

        public int LastThread { get; private set; }

        public IReadOnlyList<byte> Bytes
        {
            get
            {
                lock (_bytes)
                {
                    return [.. _bytes];
                }
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(0);

        public override Task WriteAsync(System.Buffers.ReadOnlySequence<byte> buffer, bool isEndOfPacket, CancellationToken cancellationToken)
        {
            lock (_bytes)
            {
                _bytes.AddRange(System.Buffers.BuffersExtensions.ToArray(buffer));
                Writes++;
                LastThread = Environment.CurrentManagedThreadId;
            }

            return Task.CompletedTask;
        }
    }
}
