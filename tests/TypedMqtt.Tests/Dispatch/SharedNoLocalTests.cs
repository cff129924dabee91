namespace TypedMqtt.Tests.Dispatch;

/// <summary>MQTT 5 §3.8.3.1 [MQTT-3.8.3-4]: No Local on a shared subscription is a protocol error, so it never reaches the wire.</summary>
public sealed class SharedNoLocalTests : IAsyncLifetime
{
    private EmbeddedMqttBroker _broker = null!;

    public async Task InitializeAsync() => _broker = await EmbeddedMqttBroker.StartAsync();

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    [Fact]
    public async Task No_local_with_a_shared_group_is_refused_before_anything_is_sent_and_the_connection_stays()
    {
        await using var connection = await MqttConnection.ConnectAsync(_broker.Address);
        var options = MqttSubscriptionOptions.Default with { SharedGroup = "workers", NoLocal = true };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => connection.SubscribeAsync("jobs/#", (_, _, _) => Task.CompletedTask, options));

        Assert.Contains("No local cannot be used with the shared subscription group 'workers'", error.Message, StringComparison.Ordinal);
        Assert.True(connection.IsConnected);
        await using var alone = await connection.SubscribeAsync("jobs/#", (_, _, _) => Task.CompletedTask, options with { SharedGroup = null }); // No Local alone is fine
    }
}
