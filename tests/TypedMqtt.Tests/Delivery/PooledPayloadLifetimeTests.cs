using System.Collections.Concurrent;
using System.Text;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Delivery;

/// <summary>
/// An encoded payload lives in an array borrowed from the shared pool, and a QoS 1 flow is written and resent from it
/// until the flow settles; only then does the array go back. If it went back sooner, the next publishes would borrow and
/// overwrite it, and a resend after a cut would carry their bytes: every message received must be exactly one that was
/// sent, and every one must arrive.
/// </summary>
[Collection(MosquittoCollection.Name)]
public sealed class PooledPayloadLifetimeTests(MosquittoFixture fixture)
{
    private const int Messages = 3_000;
    private const int Window = 8; // below the broker's receive maximum (Mosquitto: 20), so flows are written directly from their pooled arrays, not queued (a queued publish copies its payload)

    private static string Text(int i) => $"reading-{i:D5}-" + new string((char)('a' + (i % 26)), 40 + (i % 50));

    [MosquittoFact]
    public async Task QoS_1_flows_resent_after_cuts_carry_their_own_payloads()
    {
        var prefix = "pool" + Guid.NewGuid().ToString("N")[..8];
        await using var proxy = new TcpProxy(fixture.Broker.TcpPort);
        await using var publisher = await MqttConnection.ConnectAsync(FastReconnect.Options(proxy.Address));
        await using var subscriber = await MqttConnection.ConnectAsync(fixture.Broker.TcpAddress);
        var wrong = new ConcurrentQueue<string>();
        var seen = new ConcurrentDictionary<int, bool>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await subscriber.SubscribeAsync($"{prefix}/r", (payload, _, _) =>
        {
            var text = Encoding.UTF8.GetString(payload.Span);
            if (text.Length < 14 || !int.TryParse(text.AsSpan(8, 5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i) || text != Text(i))
            {
                wrong.Enqueue(text);
            }
            else if (seen.TryAdd(i, true) && seen.Count == Messages)
            {
                all.TrySetResult();
            }

            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce });

        var pending = new Task[Window];
        for (var i = 0; i < Messages; i++)
        {
            if (pending[i % Window] is { } earlier)
            {
                await earlier.WaitAsync(TimeSpan.FromSeconds(30));
            }

            pending[i % Window] = publisher.PublishAsync($"{prefix}/r", Text(i), Utf8StringCodec.Instance, MqttQos.AtLeastOnce);
            if (i is 1_000 or 2_000)
            {
                proxy.Cut(); // the flows in flight are resent from their pooled arrays after the reconnect
            }
        }

        await Task.WhenAll(pending.Where(t => t is not null)).WaitAsync(TimeSpan.FromSeconds(30));
        await all.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Empty(wrong);
        Assert.Equal(Messages, seen.Count);
        Assert.True(publisher.Statistics.Resent > 0, "nothing was resent: the cuts came when no flow was in flight");
    }
}
