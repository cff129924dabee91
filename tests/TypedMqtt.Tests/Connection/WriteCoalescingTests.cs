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
        // Below the embedded broker's 1,000 pending messages per client: beyond that MQTTnet's server drops the oldest
        // for a subscriber that lags (as this one may on a loaded machine), which is the broker's loss, not ours.
        const int Messages = 900;
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
}
