using System.Text;

namespace TypedMqtt.Tests.Dispatch;

/// <summary>
/// A resumed session delivers what the broker queued right after CONNACK, before the application re-declares its
/// handler; those messages must reach the handler once it is declared, not vanish.
/// </summary>
public sealed class PersistentSessionDeliveryTests
{
    [Fact]
    public async Task Messages_queued_by_a_resumed_session_reach_a_handler_declared_after_connect()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        var clientId = "resume" + Guid.NewGuid().ToString("N")[..8];
        var address = $"{broker.Address}?clientId={clientId}&cleanStart=false&sessionExpiry=3600";
        var first = await MqttConnection.ConnectAsync(address);
        await first.SubscribeAsync("queue/#", (_, _, _) => Task.CompletedTask, new MqttSubscriptionOptions { Qos = MqttQos.AtLeastOnce });
        await first.DisposeAsync();

        await using (var publisher = await MqttConnection.ConnectAsync(broker.Address))
        {
            for (var i = 0; i < 20; i++)
            {
                await publisher.PublishAsync($"queue/{i}", Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), MqttQos.AtLeastOnce);
            }
        }

        await using var second = await MqttConnection.ConnectAsync(address);
        Assert.True(second.ConnectResult.IsSessionPresent);
        await Task.Delay(200); // let the queued messages arrive before anyone listens
        var received = new List<string>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await second.SubscribeAsync("queue/#", (payload, _, _) =>
        {
            received.Add(Encoding.UTF8.GetString(payload.Span));
            if (received.Count == 20)
            {
                all.TrySetResult();
            }

            return Task.CompletedTask;
        }, new MqttSubscriptionOptions { Qos = MqttQos.AtLeastOnce });

        await all.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), received);
    }
}
