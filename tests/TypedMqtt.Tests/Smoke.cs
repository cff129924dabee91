using System.Text;

namespace TypedMqtt.Tests;

public sealed class Smoke
{
    [Fact]
    public async Task Publish_and_receive_over_embedded_broker()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var connection = await MqttConnection.ConnectAsync(broker.Address);
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var sub = await connection.SubscribeAsync("a/+", (payload, ctx, ct) =>
        {
            received.TrySetResult(ctx.Topic + "=" + Encoding.UTF8.GetString(payload.Span));
            return Task.CompletedTask;
        });
        await connection.PublishAsync("a/b", Encoding.UTF8.GetBytes("hi"), MqttQos.AtLeastOnce);
        Assert.Equal("a/b=hi", await received.Task.WaitAsync(TimeSpan.FromSeconds(5)));
    }
}
