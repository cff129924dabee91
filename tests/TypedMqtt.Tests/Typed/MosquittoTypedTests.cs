using System.Collections.Concurrent;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Typed;

/// <summary>A contract with MQTT 5 subscription options, exercised on Mosquitto (MQTTnet's server lacks shared subscriptions).</summary>
[MqttContract]
public partial interface IWorkQueue
{
    [Publish("test/jobs/{id}", Qos = MqttQos.AtLeastOnce)]
    Task EnqueueAsync(int id, string job, CancellationToken cancellationToken = default);

    [Subscribe("test/jobs/{id}", Qos = MqttQos.AtLeastOnce, SharedGroup = "workers")]
    Task<IAsyncDisposable> OnJobAsync(Func<int, string, MqttMessageContext, Task> handler, CancellationToken cancellationToken = default);

    [Subscribe("test/echo/{id}", Qos = MqttQos.AtLeastOnce, NoLocal = true)]
    Task<IAsyncDisposable> OnEchoAsync(Func<int, string, Task> handler, CancellationToken cancellationToken = default);

    [Publish("test/echo/{id}", Qos = MqttQos.AtLeastOnce)]
    Task EchoAsync(int id, string text, CancellationToken cancellationToken = default);

    [Publish("test/retained/{id}", Qos = MqttQos.AtLeastOnce, Retain = true)]
    Task PublishRetainedAsync(int id, string text, CancellationToken cancellationToken = default);

    [Subscribe("test/retained/{id}", Qos = MqttQos.AtLeastOnce, RetainHandling = MqttRetainHandling.DoNotSend)]
    Task<IAsyncDisposable> OnRetainedLiveOnlyAsync(Func<int, string, MqttMessageContext, Task> handler, CancellationToken cancellationToken = default);
}

[Collection(MosquittoCollection.Name)]
public sealed class MosquittoTypedTests(MosquittoFixture mosquitto)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [MosquittoFact]
    public async Task Shared_subscription_spreads_messages_over_the_group_without_duplicates()
    {
        var address = mosquitto.Broker.TcpAddress;
        await using var first = await WorkQueueClient.ConnectAsync(address);
        await using var second = await WorkQueueClient.ConnectAsync(address);
        var seen = new ConcurrentDictionary<int, string>();
        var counts = new int[2];
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task Record(int worker, int id)
        {
            Interlocked.Increment(ref counts[worker]);
            Assert.True(seen.TryAdd(id, "worker" + worker), $"job {id} was delivered twice");
            if (seen.Count == 40)
            {
                done.TrySetResult();
            }

            return Task.CompletedTask;
        }

        await using var a = await first.OnJobAsync((id, _, _) => Record(0, id));
        await using var b = await second.OnJobAsync((id, _, _) => Record(1, id));
        await using var producer = await WorkQueueClient.ConnectAsync(address);
        for (var i = 0; i < 40; i++)
        {
            await producer.EnqueueAsync(i, "job");
        }

        await done.Task.WaitAsync(Wait);
        Assert.Equal(40, counts[0] + counts[1]);
        Assert.True(counts[0] > 0 && counts[1] > 0, $"one worker got everything: {counts[0]}/{counts[1]}");
    }

    [MosquittoFact]
    public async Task No_local_suppresses_our_own_publishes_but_not_others()
    {
        var address = mosquitto.Broker.TcpAddress;
        await using var client = await WorkQueueClient.ConnectAsync(address);
        await using var other = await WorkQueueClient.ConnectAsync(address);
        var received = new ConcurrentQueue<string>();
        var fromOther = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await client.OnEchoAsync((id, text) =>
        {
            received.Enqueue(text);
            if (text == "theirs")
            {
                fromOther.TrySetResult();
            }

            return Task.CompletedTask;
        });

        await client.EchoAsync(1, "mine");
        await other.EchoAsync(1, "theirs");

        await fromOther.Task.WaitAsync(Wait);
        Assert.Equal(["theirs"], received);
    }

    [MosquittoFact]
    public async Task Retain_handling_do_not_send_skips_the_retained_value_but_gets_live_ones()
    {
        var address = mosquitto.Broker.TcpAddress;
        await using var client = await WorkQueueClient.ConnectAsync(address);
        var id = Random.Shared.Next(1_000_000);
        await client.PublishRetainedAsync(id, "old");
        var received = new ConcurrentQueue<(string Text, bool Retain)>();
        var live = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await client.OnRetainedLiveOnlyAsync((receivedId, text, context) =>
        {
            if (receivedId == id)
            {
                received.Enqueue((text, context.Retain));
                if (text == "new")
                {
                    live.TrySetResult();
                }
            }

            return Task.CompletedTask;
        });

        await client.PublishRetainedAsync(id, "new");

        await live.Task.WaitAsync(Wait);
        Assert.Equal([("new", false)], received);
        await client.Connection.PublishAsync($"test/retained/{id}", ReadOnlyMemory<byte>.Empty, MqttQos.AtLeastOnce, retain: true);
    }
}
