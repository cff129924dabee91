using System.Diagnostics;

namespace TypedMqtt.Tests.Infrastructure;

/// <summary>Outages made with a <see cref="TcpProxy"/>, and waiting for what should follow them.</summary>
public static class Outage
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    /// <summary>Takes the connection offline and keeps it there: the link is reset and new connects go unanswered until <see cref="TcpProxy.PassThrough"/>.</summary>
    public static async Task GoOfflineAsync(TcpProxy proxy, MqttConnection connection)
    {
        proxy.Blackhole();
        proxy.Reset();
        await WaitUntilAsync(() => !connection.IsConnected, () => "the connection noticed the reset");
    }

    /// <summary>Polls <paramref name="condition"/> every 10 ms; fails with <paramref name="what"/> after <see cref="Wait"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, Func<string> what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < Wait, "Timed out waiting until " + what());
            await Task.Delay(10);
        }
    }
}
