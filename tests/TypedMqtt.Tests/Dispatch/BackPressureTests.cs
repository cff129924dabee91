using System.Collections.Concurrent;
using System.Text;

namespace TypedMqtt.Tests.Dispatch;

/// <summary>
/// A handler that falls behind by more than its subscription's BufferCapacity pauses the receive path (back pressure):
/// nothing is dropped, order is kept, and delivery resumes when the handler catches up.
/// </summary>
public sealed class BackPressureTests
{
    [Fact]
    public async Task A_full_subscription_buffer_holds_the_receive_path_and_loses_nothing()
    {
        const int Messages = 200;
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var subscriber = await MqttConnection.ConnectAsync(broker.Address);
        await using var publisher = await MqttConnection.ConnectAsync(broker.Address);

        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = new ConcurrentQueue<int>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new MqttSubscriptionOptions { Qos = MqttQos.AtLeastOnce, BufferCapacity = 4 };
        await using var slow = await subscriber.SubscribeAsync("bp/#", async (payload, _, cancellationToken) =>
        {
            await gate.Task.WaitAsync(cancellationToken);
            received.Enqueue(int.Parse(Encoding.UTF8.GetString(payload.Span), System.Globalization.CultureInfo.InvariantCulture));
            if (received.Count == Messages)
            {
                all.TrySetResult();
            }
        }, options);

        for (var i = 0; i < Messages; i++)
        {
            await publisher.PublishAsync($"bp/{i % 7}", Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), MqttQos.AtLeastOnce);
        }

        // The handler is stuck on its first message; at most the buffer's worth waits behind it.
        await Task.Delay(300);
        Assert.Empty(received);
        Assert.True(subscriber.IsConnected);

        gate.SetResult();
        await all.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(Enumerable.Range(0, Messages), received);
        Assert.True(subscriber.IsConnected);
    }
}
