using System.Collections.Concurrent;
using System.Text;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Connection;

/// <summary>C5 against MQTTnet's server, which sends DISCONNECT 0x8E (Session taken over) to the first client.</summary>
public sealed class EmbeddedTakeoverTests
{
    [Fact]
    public async Task Duplicate_client_id_raises_session_taken_over_and_the_first_client_does_not_reconnect()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        var address = $"{broker.Address}?clientId=dup-{Guid.NewGuid().ToString("N")[..10]}";
        await using var first = await MqttConnection.ConnectAsync(address);
        var changes = new ConcurrentQueue<MqttConnectionStateChangedEventArgs>();
        var takenOver = new TaskCompletionSource<MqttConnectionStateChangedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        first.StateChanged += (_, e) =>
        {
            changes.Enqueue(e);
            if (e.IsSessionTakenOver)
            {
                takenOver.TrySetResult(e);
            }
        };

        await using var second = await MqttConnection.ConnectAsync(address);

        var change = await takenOver.Task.WaitAsync(MessageProbe.DefaultWait);
        Assert.Equal(MqttConnectionState.SessionTakenOver, first.State);
        Assert.Equal(0x8E, change.DisconnectReasonCode);
        Assert.Contains("took over the session", change.Reason, StringComparison.Ordinal);

        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(0, first.ReconnectAttempts);
        Assert.DoesNotContain(changes, e => e.Current is MqttConnectionState.Connecting or MqttConnectionState.Connected);
        Assert.True(second.IsConnected);
        await using var probe = await MessageProbe.SubscribeAsync(second, "takeover/check");
        await second.PublishAsync("takeover/check", Encoding.UTF8.GetBytes("still mine"), MqttQos.AtLeastOnce);
        Assert.Equal("still mine", (await probe.NextAsync()).Text);
    }
}
