using System.Collections.Concurrent;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Dispatch;

/// <summary>
/// Overlapping subscriptions on one connection: a typed-style filter, the same filter in a shared group, and a raw
/// catch-all. On MQTT 5 every broker subscription carries its own subscription identifier, so each handler runs once per
/// message, whether the broker sends one copy per subscription (Mosquitto) or one copy naming every subscription
/// (MQTTnet's server). On 3.1.1 copies cannot be told apart; Mosquitto 2.0 sends a 3.1.1 client a single copy, so each
/// handler still runs once (the documented behaviour, pinned here).
/// </summary>
[Collection(MosquittoCollection.Name)]
public sealed class OverlappingSubscriptionTests(MosquittoFixture fixture)
{
    private const int Messages = 20;

    private static async Task<Dictionary<string, int>> RunAsync(string address, bool shared)
    {
        var prefix = "ovl" + Guid.NewGuid().ToString("N")[..8];
        await using var connection = await MqttConnection.ConnectAsync(address);
        var counts = new ConcurrentDictionary<string, int>();
        Func<ReadOnlyMemory<byte>, MqttMessageContext, CancellationToken, Task> Count(string name) => (_, _, _) =>
        {
            counts.AddOrUpdate(name, 1, (_, n) => n + 1);
            return Task.CompletedTask;
        };

        var subscriptions = new List<MqttSubscription>
        {
            await connection.SubscribeAsync($"{prefix}/state/+", Count("typed"), MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce }),
            await connection.SubscribeAsync($"{prefix}/#", Count("raw"), MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce }),
        };
        if (shared)
        {
            subscriptions.Add(await connection.SubscribeAsync($"{prefix}/state/+", Count("shared"), MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce, SharedGroup = "g" }));
        }

        await using var publisher = await MqttConnection.ConnectAsync(address);
        for (var i = 0; i < Messages; i++)
        {
            await publisher.PublishAsync($"{prefix}/state/line{i}", "1"u8.ToArray(), MqttQos.AtLeastOnce);
        }

        var expected = Messages * (shared ? 3 : 2);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (counts.Values.Sum() < expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        // Let any extra copies land before counting.
        await Task.Delay(300);
        foreach (var subscription in subscriptions)
        {
            await subscription.DisposeAsync();
        }

        return new Dictionary<string, int>(counts);
    }

    [MosquittoFact]
    public async Task On_Mosquitto_with_MQTT5_each_overlapping_subscription_runs_its_handler_once_per_message()
    {
        var counts = await RunAsync(fixture.Broker.TcpAddress, shared: true);
        Assert.Equal(new Dictionary<string, int> { ["typed"] = Messages, ["raw"] = Messages, ["shared"] = Messages }, counts);
    }

    [Fact]
    public async Task On_the_embedded_broker_each_overlapping_subscription_runs_its_handler_once_per_message()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        var counts = await RunAsync(broker.Address, shared: false);
        Assert.Equal(new Dictionary<string, int> { ["typed"] = Messages, ["raw"] = Messages }, counts);
    }

    [MosquittoFact]
    public async Task On_Mosquitto_with_MQTT311_the_single_copy_reaches_each_matching_handler_once_as_documented_for_TMQ0014()
    {
        var counts = await RunAsync(fixture.Broker.TcpAddress + "?version=3.1.1", shared: false);
        Assert.Equal(new Dictionary<string, int> { ["typed"] = Messages, ["raw"] = Messages }, counts);
    }
}
