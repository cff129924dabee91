using System.Collections.Concurrent;
using System.Diagnostics;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Connection;

/// <summary>
/// <see cref="MqttConnectionOptions.DedicatedReadingThread"/> against Mosquitto: every QoS in order over plain TCP and
/// TLS, a handler that blocks on its own QoS 1 publish (which only the reader can acknowledge) held up for about the
/// watch's 50-100 ms instead of for ever, and the thread's end with the link (lost or closed).
/// </summary>
[Collection(MosquittoCollection.Name)]
public sealed class DedicatedReadingThreadTests(MosquittoFixture fixture)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(15);

    [MosquittoTheory]
    [InlineData(MqttQos.AtMostOnce)]
    [InlineData(MqttQos.AtLeastOnce)]
    [InlineData(MqttQos.ExactlyOnce)]
    public async Task Every_message_arrives_in_order_on_the_reading_thread(MqttQos qos)
    {
        await using var subscriber = await MqttConnection.ConnectAsync(fixture.Broker.TcpAddress + "?readingThread=true");
        await using var publisher = await MqttConnection.ConnectAsync(fixture.Broker.TcpAddress, b => b.WithDedicatedReadingThread());
        await RoundTripAsync(subscriber, publisher, qos, count: 2_000);
    }

    [MosquittoFact]
    public async Task It_reads_over_TLS()
    {
        var address = $"mqtts://localhost:{fixture.Broker.TlsPort}";
        await using var subscriber = await MqttConnection.ConnectAsync(address, b => b.WithCaCertificatePem(fixture.Certificates.CaPem).WithDedicatedReadingThread());
        await using var publisher = await MqttConnection.ConnectAsync(address, b => b.WithCaCertificatePem(fixture.Certificates.CaPem).WithDedicatedReadingThread());
        await RoundTripAsync(subscriber, publisher, MqttQos.AtLeastOnce, count: 500);
    }

    [MosquittoFact]
    public async Task A_handler_that_blocks_on_its_own_QoS_1_publish_hands_reading_to_a_new_thread()
    {
        var prefix = "rt" + Guid.NewGuid().ToString("N")[..8];
        await using var connection = await MqttConnection.ConnectAsync(fixture.Broker.TcpAddress, b => b.WithDedicatedReadingThread());
        await using var publisher = await MqttConnection.ConnectAsync(fixture.Broker.TcpAddress);
        var blockedFor = new ConcurrentQueue<TimeSpan>();
        var handled = 0;
        await using var subscription = await connection.SubscribeAsync($"{prefix}/in", (payload, _, _) =>
        {
            if (payload.Span[0] == (byte)'b')
            {
                var started = Stopwatch.StartNew();
                // The point of the test: sync over async on the reading thread, for an acknowledgement only it can read.
                connection.PublishAsync($"{prefix}/out", "e"u8.ToArray(), MqttQos.AtLeastOnce).GetAwaiter().GetResult();
                blockedFor.Enqueue(started.Elapsed);
            }

            Interlocked.Increment(ref handled);
            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce });

        // Quick calls first: the handler proves quick and is then called directly, on the reading thread; then the blocking one.
        foreach (var text in Enumerable.Repeat("q", 40).Append("b").Concat(Enumerable.Repeat("q", 5)))
        {
            await publisher.PublishAsync($"{prefix}/in", System.Text.Encoding.ASCII.GetBytes(text), MqttQos.AtLeastOnce);
        }

        await WaitUntilAsync(() => Volatile.Read(ref handled) == 46);
        Assert.Single(blockedFor);
        var reader = connection.CurrentLink!.ReadingThread!;
        Assert.True(reader.Takeovers >= 1, "no other thread took over reading");
        Assert.All(blockedFor, t => Assert.True(t < TimeSpan.FromSeconds(2), $"the handler's own publish took {t.TotalMilliseconds:0} ms"));
        Assert.True(connection.IsConnected);
    }

    [MosquittoFact]
    public async Task The_thread_ends_with_its_link_and_the_next_link_reads_on_a_new_one()
    {
        var prefix = "rt" + Guid.NewGuid().ToString("N")[..8];
        await using var proxy = new TcpProxy(fixture.Broker.TcpPort);
        var options = FastReconnect.Options(proxy.Address) with { DedicatedReadingThread = true };
        await using var connection = await MqttConnection.ConnectAsync(options);
        var received = 0;
        await using var subscription = await connection.SubscribeAsync($"{prefix}/x", (_, _, _) =>
        {
            Interlocked.Increment(ref received);
            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce });
        var first = connection.CurrentLink!;
        Assert.NotNull(first.ReadingThread);

        proxy.Reset();
        await WaitUntilAsync(() => connection.CurrentLink is { } next && next != first && connection.IsConnected);
        await WaitUntilAsync(() => first.ReadingThread!.HasEnded);

        await connection.PublishAsync($"{prefix}/x", "after"u8.ToArray(), MqttQos.AtLeastOnce);
        await WaitUntilAsync(() => Volatile.Read(ref received) >= 1);
        var second = connection.CurrentLink!;
        Assert.False(second.ReadingThread!.HasEnded);

        await connection.DisposeAsync();
        await WaitUntilAsync(() => second.ReadingThread!.HasEnded);
    }

    [Fact]
    public void WebSocket_with_a_reading_thread_is_refused_with_what_to_do()
    {
        var error = Assert.Throws<ArgumentException>(() => MqttConnectionOptionsBuilder.FromAddress("ws://localhost:8080/mqtt").WithDedicatedReadingThread().Build());
        Assert.Contains("use an mqtt:// or mqtts:// address", error.Message, StringComparison.Ordinal);
    }

    private static async Task RoundTripAsync(MqttConnection subscriber, MqttConnection publisher, MqttQos qos, int count)
    {
        var topic = "rt" + Guid.NewGuid().ToString("N")[..8] + "/x";
        var received = new ConcurrentQueue<int>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await subscriber.SubscribeAsync(topic, (payload, _, _) =>
        {
            received.Enqueue(BitConverter.ToInt32(payload.Span));
            if (received.Count == count)
            {
                all.TrySetResult();
            }

            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = qos });

        // Half one at a time (each awaited: its acknowledgement completes it on the publisher's reading thread), half 32 at a time.
        for (var i = 0; i < count / 2; i++)
        {
            await publisher.PublishAsync(topic, BitConverter.GetBytes(i), qos);
        }

        var window = new List<Task>();
        for (var i = count / 2; i < count; i++)
        {
            window.Add(publisher.PublishAsync(topic, BitConverter.GetBytes(i), qos));
            if (window.Count == 32)
            {
                await Task.WhenAll(window);
                window.Clear();
            }
        }

        await Task.WhenAll(window);
        await all.Task.WaitAsync(Limit);
        Assert.Equal(Enumerable.Range(0, count), received);
        Assert.NotNull(subscriber.CurrentLink!.ReadingThread);
        Assert.NotNull(publisher.CurrentLink!.ReadingThread);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }
}
