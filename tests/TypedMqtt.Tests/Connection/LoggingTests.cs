using Microsoft.Extensions.Logging;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Connection;

/// <summary>Log levels fit what happened: a lost connection warns once, the retries while the broker is down are Debug.</summary>
public sealed class LoggingTests
{
    [Fact]
    public async Task A_lost_connection_warns_once_the_retries_are_Debug_and_the_reconnect_is_Information()
    {
        var broker = await EmbeddedMqttBroker.StartAsync();
        var port = broker.Port;
        var logger = new CapturingLogger();
        await using var connection = await MqttConnection.ConnectAsync(broker.Address, b => b.Configure(o => o with
        {
            Logger = logger,
            Reconnect = o.Reconnect with { MinDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromMilliseconds(100) },
        }));

        await broker.DisposeAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (connection.ReconnectAttempts < 3 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await using (await EmbeddedMqttBroker.StartAsync(port))
        {
            while (!connection.IsConnected && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            Assert.True(connection.IsConnected);
            var states = logger.Entries.Where(e => e.Id.Id == 1).ToList();
            var lost = Assert.Single(states, e => e.Message.Contains("Connected -> Disconnected", StringComparison.Ordinal));
            Assert.Equal(LogLevel.Warning, lost.Level);
            var retries = states.Where(e => e.Message.Contains("reconnect attempt", StringComparison.Ordinal)).ToList();
            Assert.True(retries.Count >= 2, $"{retries.Count} failed attempts were logged");
            Assert.All(retries, e => Assert.Equal(LogLevel.Debug, e.Level));
            Assert.Equal(LogLevel.Information, states.Last(e => e.Message.Contains("-> Connected", StringComparison.Ordinal)).Level);
        }
    }

    [Fact]
    public void A_state_change_prints_itself_in_one_line()
    {
        var change = new MqttConnectionStateChangedEventArgs(MqttConnectionState.Connected, MqttConnectionState.Disconnected, "keep-alive timeout", 0x8D);
        Assert.Equal("Connected -> Disconnected: keep-alive timeout (reason 0x8D)", change.ToString());
        Assert.Equal("Connecting -> Connected: connected, new session", new MqttConnectionStateChangedEventArgs(MqttConnectionState.Connecting, MqttConnectionState.Connected, "connected, new session").ToString());
    }
}
