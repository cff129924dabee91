namespace TypedMqtt.Tests.Typed;

[MqttContract]
public partial interface IAnnounced
{
    [Publish("test/declared/{room}", Qos = MqttQos.AtLeastOnce, MessageExpirySeconds = 600)]
    [UserProperty("sender", "tests")]
    Task AnnounceAsync(string room, string text, MqttMessageProperties? properties = null, CancellationToken cancellationToken = default);

    [Subscribe("test/declared/{room}", Qos = MqttQos.AtLeastOnce)]
    Task<IAsyncDisposable> OnAnnouncementAsync(Func<string, string, MqttMessageContext, CancellationToken, Task> handler, CancellationToken cancellationToken = default);
}

/// <summary>A contract's declared MQTT 5 properties on an MQTT 3.1.1 connection: left out, not an error; a call's own properties still are.</summary>
public sealed class DeclaredPropertiesOnMqtt3Tests : IAsyncLifetime
{
    private EmbeddedMqttBroker _broker = null!;

    public async Task InitializeAsync() => _broker = await EmbeddedMqttBroker.StartAsync();

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    [Theory]
    [InlineData("3.1.1", 0)]
    [InlineData("5.0", 1)]
    public async Task Declared_properties_are_sent_on_MQTT_5_and_left_out_on_MQTT_3(string version, int expectedUserProperties)
    {
        await using var client = await AnnouncedClient.ConnectAsync($"{_broker.Address}?version={version}");
        var received = new TaskCompletionSource<MqttMessageContext>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await client.OnAnnouncementAsync((_, _, context, _) =>
        {
            received.TrySetResult(context);
            return Task.CompletedTask;
        });

        await client.AnnounceAsync("hall", "hello");

        var context = await received.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(expectedUserProperties, context.UserProperties.Count);
    }

    [Fact]
    public async Task A_calls_own_properties_on_MQTT_3_are_still_an_error_and_nothing_is_sent()
    {
        await using var client = await AnnouncedClient.ConnectAsync($"{_broker.Address}?version=3.1.1");
        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.AnnounceAsync("hall", "hello", new MqttMessageProperties { ContentType = "text/plain" }));
        Assert.Contains("MQTT 5 feature", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, client.Connection.Statistics.Completed);
    }

    [Fact]
    public void Merging_a_calls_properties_into_declared_ones_makes_them_required()
    {
        var declared = new MqttMessageProperties { MessageExpiryInterval = 60, Mqtt5Only = true };
        Assert.True(declared.MergeWith(null).Mqtt5Only);
        Assert.False(declared.MergeWith(new MqttMessageProperties { ContentType = "text/plain" }).Mqtt5Only);
    }
}
