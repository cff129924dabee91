using System.Collections.Concurrent;
using System.Diagnostics;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Connection;

/// <summary>
/// <see cref="MqttConnectionOptions.DedicatedReadingThread"/> against Mosquitto: every QoS in order over plain TCP and
/// TLS, handlers and awaited publishes continuing on the reading thread, a handler that blocks on its own QoS 1 publish
/// (which only the reader can acknowledge) held up for about the watch's 50-100 ms instead of for ever, the thread's
/// end with the link (lost or closed), a connect and a peer that stop answering, and no execution context of the caller.
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

    /// <summary>
    /// A stream connector (the in-memory transport: bounded pipes) reads and writes blocking too: one connection
    /// publishing QoS 2 to itself, so both directions are busy at once. (It passes without the watch as well: the pipes
    /// never filled here, so it does not prove that the watch breaks a write the peer does not take; the frozen-peer test
    /// and the handler test above cover the watch and the write bound.)
    /// </summary>
    [Fact]
    public async Task Two_way_QoS_2_over_the_in_memory_transport_arrives_in_order()
    {
        await using var broker = await EmbeddedMqttBroker.StartInMemoryAsync();
        await using var connection = await MqttConnection.ConnectAsync(broker.Address, b => b.WithStreamConnector(broker.ConnectInMemoryAsync).WithDedicatedReadingThread());
        await RoundTripAsync(connection, connection, MqttQos.ExactlyOnce, count: 4_000);
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
        // Each is handled before the next is sent: a packet already buffered behind it would send its delivery to a worker
        // (on a busy machine the broker's forwards bunch up), and the blocking call must run on the reading thread.
        var sent = 0;
        foreach (var text in Enumerable.Repeat("q", 40).Append("b").Concat(Enumerable.Repeat("q", 5)))
        {
            await publisher.PublishAsync($"{prefix}/in", System.Text.Encoding.ASCII.GetBytes(text), MqttQos.AtLeastOnce);
            sent++;
            await WaitUntilAsync(() => Volatile.Read(ref handled) == sent, poll: 1);
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
    public async Task A_broker_that_never_answers_CONNECT_times_out_the_connect()
    {
        await using var silent = new SilentListener();
        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<MqttConnectException>(() => MqttConnection.ConnectAsync($"mqtt://127.0.0.1:{silent.Port}?connectTimeout=1&readingThread=true").WaitAsync(Limit));
        Assert.Equal(MqttConnectFailure.Timeout, error.Failure);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the connect gave up after {clock.Elapsed.TotalSeconds:0.0} s");
        await silent.ClientClosed.Task.WaitAsync(Limit); // and the socket was closed, not left blocked in a read
    }

    /// <summary>
    /// A peer that takes CONNECT, answers CONNACK and then never reads again: once the socket's buffers are full a write
    /// blocks, and must fail within the link's deadline (here max(2 s connect timeout, 1.5 x 1 s keep alive)) so the link
    /// is lost, as the watchdog ends an asynchronous one; and closing the connection afterwards does not hang.
    /// </summary>
    [Fact]
    public async Task A_peer_that_stops_reading_loses_the_link_within_its_deadline()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var frozen = FreezeAfterConnackAsync(listener);
        var connection = await MqttConnection.ConnectAsync($"mqtt://127.0.0.1:{port}?keepAlive=1&connectTimeout=2&readingThread=true");
        var payload = new byte[64 * 1024];
        var flooding = Task.Run(async () =>
        {
            try
            {
                while (connection.State == MqttConnectionState.Connected)
                {
                    await connection.PublishAsync("frozen/x", payload, MqttQos.AtMostOnce);
                }
            }
            catch (MqttOperationException)
            {
                // The write that failed the link fails its publish.
            }
        });

        var clock = Stopwatch.StartNew();
        await WaitUntilAsync(() => connection.State != MqttConnectionState.Connected);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the link was lost after {clock.Elapsed.TotalSeconds:0.0} s");
        await flooding.WaitAsync(Limit);
        await connection.DisposeAsync().AsTask().WaitAsync(Limit);
        (await frozen).Dispose();
    }

    [MosquittoFact]
    public async Task Handlers_on_the_reading_thread_do_not_see_the_connecting_caller_s_async_locals()
    {
        var local = new AsyncLocal<string?> { Value = "the caller's" };
        await using var subscriber = await MqttConnection.ConnectAsync(fixture.Broker.TcpAddress, b => b.WithDedicatedReadingThread());
        await using var publisher = await MqttConnection.ConnectAsync(fixture.Broker.TcpAddress);
        local.Value = null;
        var topic = "rt" + Guid.NewGuid().ToString("N")[..8] + "/x";
        var seen = new ConcurrentQueue<(string? Value, string? Thread)>();
        await using var subscription = await subscriber.SubscribeAsync(topic, (_, _, _) =>
        {
            seen.Enqueue((local.Value, Thread.CurrentThread.Name));
            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce });

        // One at a time end to end: a delivery with a packet buffered behind it goes to a worker, and on a starved machine
        // the broker's forwards bunch up (this test once saw no handler on the reading thread that way).
        for (var i = 0; i < 100; i++)
        {
            await publisher.PublishAsync(topic, "x"u8.ToArray(), MqttQos.AtLeastOnce);
            var expected = i + 1;
            await WaitUntilAsync(() => seen.Count == expected, poll: 1);
        }

        Assert.Contains(seen, s => s.Thread == "MQTT reader");
        Assert.All(seen, s => Assert.Null(s.Value));
    }

    private static async Task<System.Net.Sockets.Socket> FreezeAfterConnackAsync(System.Net.Sockets.TcpListener listener)
    {
        var socket = await listener.AcceptSocketAsync();
        socket.ReceiveBufferSize = 64 * 1024; // a small window: the client's writes block sooner
        var buffer = new byte[1024];
        _ = await socket.ReceiveAsync(buffer); // CONNECT, then never read again
        await socket.SendAsync(new byte[] { 0x20, 0x03, 0x00, 0x00, 0x00 }); // CONNACK, MQTT 5, success
        return socket;
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
        var handlersOnReader = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await subscriber.SubscribeAsync(topic, (payload, _, _) =>
        {
            if (Thread.CurrentThread.Name == "MQTT reader")
            {
                Interlocked.Increment(ref handlersOnReader);
            }

            received.Enqueue(BitConverter.ToInt32(payload.Span));
            if (received.Count == count)
            {
                all.TrySetResult();
            }

            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = qos });

        // Half one at a time (each awaited: its acknowledgement completes it on the publisher's reading thread), half 32 at a time.
        var continuationsOnReader = 0;
        for (var i = 0; i < count / 2; i++)
        {
            await publisher.PublishAsync(topic, BitConverter.GetBytes(i), qos).ConfigureAwait(false);
            if (Thread.CurrentThread.Name == "MQTT reader")
            {
                continuationsOnReader++;
            }

            if (subscriber != publisher)
            {
                // One at a time end to end: the broker acknowledges before it forwards, so on a busy machine its forwards
                // could bunch up behind each other, and a delivery with a packet buffered behind it goes to a worker. (This
                // waits on the publisher's reading thread, for the subscriber's: another connection.)
                var next = i + 1;
                Assert.True(SpinWait.SpinUntil(() => received.Count >= next, Limit), "the subscriber did not get the message");
            }
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
        if (qos != MqttQos.AtMostOnce)
        {
            // One at a time, deliveries run on the reader. (A QoS 0 burst leaves packets buffered, and those deliveries go
            // to a worker: possibly all of them.)
            Assert.True(Volatile.Read(ref handlersOnReader) > count / 4, $"{handlersOnReader} of {count} handler calls ran on the subscriber's reading thread");
            // A QoS 0 publish completes when written, on the caller's thread; QoS 1/2 when acknowledged, on the reader.
            Assert.True(continuationsOnReader > count / 4, $"{continuationsOnReader} of {count / 2} awaited publishes continued on the publisher's reading thread");
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, int poll = 10)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(poll);
        }
    }
}
