using System.Collections.Concurrent;
using System.Text;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Delivery;

/// <summary>
/// The connection's events run inside its own work: MessageFailed on the receive path, StateChanged while it loses and
/// rebuilds a link. An application handler that throws there is logged (event 13) and the connection goes on: later
/// messages are delivered, and it reconnects.
/// </summary>
[Collection(MosquittoCollection.Name)]
public sealed class EventHandlerFailureTests(MosquittoFixture fixture)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(15);

    [MosquittoFact]
    public async Task A_MessageFailed_handler_that_throws_does_not_stop_delivery()
    {
        var prefix = "evt" + Guid.NewGuid().ToString("N")[..8];
        var logger = new CapturingLogger();
        await using var subscriber = await MqttConnection.ConnectAsync(MqttConnectionOptionsBuilder.FromAddress(fixture.Broker.TcpAddress).Configure(o => o with { Logger = logger }).Build());
        await using var publisher = await MqttConnection.ConnectAsync(fixture.Broker.TcpAddress);
        var failures = 0;
        subscriber.MessageFailed += (_, _) =>
        {
            Interlocked.Increment(ref failures);
            throw new InvalidOperationException("the application's MessageFailed handler fails on purpose");
        };

        var received = new ConcurrentQueue<string>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await subscriber.SubscribeAsync(
            $"{prefix}/#",
            static (_, payload) => Encoding.UTF8.GetString(payload) is var text && text.StartsWith("bad", StringComparison.Ordinal) ? throw new FormatException("not a reading") : text,
            (text, _, _) =>
            {
                received.Enqueue(text);
                if (received.Count == 3)
                {
                    all.TrySetResult();
                }

                return Task.CompletedTask;
            },
            MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce });

        foreach (var text in new[] { "good-1", "bad-1", "good-2", "bad-2", "good-3" })
        {
            await publisher.PublishAsync($"{prefix}/r", Encoding.UTF8.GetBytes(text), MqttQos.AtLeastOnce);
        }

        await all.Task.WaitAsync(Limit);
        Assert.Equal(["good-1", "good-2", "good-3"], received);
        Assert.Equal(2, Volatile.Read(ref failures));
        Assert.Contains(logger.Entries, e => e.Id.Id == 13 && e.Message.Contains("MessageFailed", StringComparison.Ordinal));
        Assert.True(subscriber.IsConnected);
    }

    [MosquittoFact]
    public async Task A_StateChanged_handler_that_throws_does_not_stop_reconnecting()
    {
        await using var proxy = new TcpProxy(fixture.Broker.TcpPort);
        await using var connection = await MqttConnection.ConnectAsync(FastReconnect.Options(proxy.Address));
        var states = new ConcurrentQueue<MqttConnectionState>();
        connection.StateChanged += (_, e) =>
        {
            states.Enqueue(e.Current);
            throw new InvalidOperationException("the application's StateChanged handler fails on purpose");
        };

        proxy.Reset();
        var deadline = DateTime.UtcNow + Limit;
        while (!(states.Contains(MqttConnectionState.Disconnected) && connection.IsConnected) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Contains(MqttConnectionState.Disconnected, states);
        Assert.Contains(MqttConnectionState.Connected, states);
        Assert.True(connection.IsConnected);
        Assert.Equal(2, proxy.Accepted);
    }
}
