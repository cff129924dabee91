using System.Collections.Concurrent;
using System.Threading.Channels;
using TypedMqtt.Tests.Typed;

namespace TypedMqtt.Tests.Testing;

/// <summary>
/// The testing kit's in-memory transport: the real runtime and generated clients against MQTTnet's broker in process,
/// connected through <see cref="EmbeddedMqttBroker.ConnectInMemoryAsync"/> instead of a socket. The address's host,
/// <c>in-memory</c>, does not resolve, so any attempt to open a socket would fail the test.
/// </summary>
public sealed class InMemoryBrokerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Generated_clients_exchange_QoS_1_and_QoS_2_messages_in_order_without_a_socket()
    {
        await using var broker = await EmbeddedMqttBroker.StartInMemoryAsync();
        Assert.True(broker.IsInMemory);
        Assert.Equal(0, broker.Port);
        Assert.Equal("mqtt://in-memory", broker.Address);

        await using var subscriber = await TelemetryClient.ConnectAsync(broker.Address, o => o.NoWill().WithStreamConnector(broker.ConnectInMemoryAsync));
        await using var publisher = await TelemetryClient.ConnectAsync(broker.Address, o => o.NoWill().WithStreamConnector(broker.ConnectInMemoryAsync));
        var readings = Channel.CreateUnbounded<(int Id, Reading Reading)>();
        var files = Channel.CreateUnbounded<(string Path, byte[] Content, MqttQos Qos)>();
        await using var onReading = await subscriber.OnReadingAsync((_, id, _, _, _, reading, _, _) => readings.Writer.WriteAsync((id, reading)).AsTask());
        await using var onFile = await subscriber.OnFileAsync((path, content, context) => files.Writer.WriteAsync((path, content, context.Qos)));

        const int count = 200;
        for (var i = 0; i < count; i++)
        {
            await publisher.PublishReadingAsync("site", i, Mode.Heating, true, Guid.Empty, new Reading(i, "C"));
        }

        await publisher.PublishFileAsync("logs/a.txt", [1, 2, 3]);

        for (var i = 0; i < count; i++)
        {
            var (id, reading) = await readings.Reader.ReadAsync().AsTask().WaitAsync(Wait);
            Assert.Equal((i, new Reading(i, "C")), (id, reading));
        }

        var file = await files.Reader.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.Equal(("logs/a.txt", MqttQos.ExactlyOnce), (file.Path, file.Qos));
        Assert.Equal(new byte[] { 1, 2, 3 }, file.Content);
        Assert.Equal(count, publisher.Connection.Statistics.Completed - 1);
    }

    [Fact]
    public async Task Stopping_the_in_memory_broker_is_a_lost_connection_and_reconnecting_says_why_it_fails()
    {
        var broker = await EmbeddedMqttBroker.StartInMemoryAsync();
        var states = new ConcurrentQueue<MqttConnectionStateChangedEventArgs>();
        var options = new MqttConnectionOptionsBuilder()
            .WithAddress(broker.Address)
            .WithStreamConnector(broker.ConnectInMemoryAsync)
            .Configure(o => o with { Reconnect = new MqttReconnectOptions { MinDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromMilliseconds(100), Jitter = 0 } })
            .Build();
        await using var connection = await MqttConnection.ConnectAsync(options);
        connection.StateChanged += (_, e) => states.Enqueue(e);

        await broker.DisposeAsync();

        var deadline = DateTime.UtcNow + Wait;
        while (!states.Any(NotRunning) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(MqttConnectionState.Disconnected, states.First().Current);
        Assert.Contains(states, NotRunning);

        static bool NotRunning(MqttConnectionStateChangedEventArgs e) =>
            $"{e.Reason} {e.Exception}".Contains("in-memory broker is not running", StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_TCP_broker_refuses_in_memory_connections_and_names_its_address()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => broker.ConnectInMemoryAsync().AsTask());

        Assert.Contains(broker.Address, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stream_connector_cannot_carry_WebSocket()
    {
        var error = Assert.Throws<ArgumentException>(() => new MqttConnectionOptionsBuilder()
            .WithAddress("ws://broker:8083/mqtt")
            .WithStreamConnector(_ => ValueTask.FromResult<Stream>(new MemoryStream()))
            .Build());

        Assert.Contains("cannot carry WebSocket", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_connector_that_returns_null_fails_the_connect_with_what_to_fix()
    {
        var options = new MqttConnectionOptionsBuilder()
            .WithAddress("mqtt://in-memory")
            .WithStreamConnector(_ => ValueTask.FromResult<Stream>(null!))
            .Build();

        var error = await Assert.ThrowsAsync<MqttConnectException>(() => MqttConnection.ConnectAsync(options));

        Assert.Contains("stream connector returned null", error.ToString(), StringComparison.Ordinal);
    }
}
