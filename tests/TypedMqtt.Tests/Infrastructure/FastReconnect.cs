namespace TypedMqtt.Tests.Infrastructure;

/// <summary>A reconnect policy of 50-100 ms without jitter, for tests that cut a connection and wait for the next one.</summary>
public static class FastReconnect
{
    public static MqttReconnectOptions Policy { get; } = new() { MinDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromMilliseconds(100), Jitter = 0 };

    /// <summary>Options for <paramref name="address"/> (query options allowed) with <see cref="Policy"/>.</summary>
    public static MqttConnectionOptions Options(string address) =>
        MqttConnectionOptionsBuilder.FromAddress(address).Configure(o => o with { Reconnect = Policy }).Build();

    /// <summary>
    /// Connects with <see cref="Options"/>, trying the first connect up to three times. Tests that take a short
    /// <c>connectTimeout</c> for their reconnects (an attempt into a black hole ends sooner) are not testing the first
    /// connect, and on a loaded machine its CONNACK can come later than one second.
    /// </summary>
    public static async Task<MqttConnection> ConnectAsync(string address)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await MqttConnection.ConnectAsync(Options(address)).ConfigureAwait(false);
            }
            catch (MqttConnectException) when (attempt < 3)
            {
            }
        }
    }
}
