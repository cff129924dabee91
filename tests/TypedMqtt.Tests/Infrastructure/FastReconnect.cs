namespace TypedMqtt.Tests.Infrastructure;

/// <summary>A reconnect policy of 50-100 ms without jitter, for tests that cut a connection and wait for the next one.</summary>
public static class FastReconnect
{
    public static MqttReconnectOptions Policy { get; } = new() { MinDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromMilliseconds(100), Jitter = 0 };

    /// <summary>Options for <paramref name="address"/> (query options allowed) with <see cref="Policy"/>.</summary>
    public static MqttConnectionOptions Options(string address) =>
        MqttConnectionOptionsBuilder.FromAddress(address).Configure(o => o with { Reconnect = Policy }).Build();
}
