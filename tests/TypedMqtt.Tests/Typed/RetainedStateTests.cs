using System.Threading.Channels;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Typed;

/// <summary>A retained state topic whose payload may be absent: publishing null clears it.</summary>
[MqttContract(JsonContext = typeof(TestJson))]
public partial interface IRoomState
{
    [Publish("state/{room}", Qos = MqttQos.AtLeastOnce, Retain = true)]
    Task PublishStateAsync(string room, Reading? reading, CancellationToken cancellationToken = default);

    [Subscribe("state/{room}", Qos = MqttQos.AtLeastOnce)]
    Task<IAsyncDisposable> OnStateAsync(Func<string, Reading?, Task> handler, CancellationToken cancellationToken = default);
}

/// <summary>The same topic read by a handler whose payload cannot be absent.</summary>
[MqttContract(JsonContext = typeof(TestJson))]
public partial interface IStrictRoomState
{
    [Subscribe("state/{room}", Qos = MqttQos.AtLeastOnce)]
    Task<IAsyncDisposable> OnStateAsync(Func<string, Reading, Task> handler, CancellationToken cancellationToken = default);
}

/// <summary>
/// Retained state in types: null is published as an empty message (the standard clear), a nullable JSON handler receives
/// a clear as null, a non-nullable one skips it without a failure report, and a cleared topic is gone for a late
/// subscriber. On Mosquitto, which keeps retained messages as a real broker does.
/// </summary>
[Collection(MosquittoCollection.Name)]
public sealed class RetainedStateTests(MosquittoFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [MosquittoFact]
    public async Task Publishing_null_clears_the_retained_topic_nullable_handlers_see_null_and_strict_ones_see_nothing()
    {
        var room = "room-" + Guid.NewGuid().ToString("N")[..8];
        await using var state = await RoomStateClient.ConnectAsync(fixture.Broker.TcpAddress);
        var failures = Channel.CreateUnbounded<MqttMessageErrorEventArgs>();
        state.Connection.MessageFailed += (_, e) => failures.Writer.TryWrite(e);
        var seen = Channel.CreateUnbounded<Reading?>();
        var strictSeen = Channel.CreateUnbounded<Reading>();
        await using var subscription = await state.OnStateAsync((r, reading) => r == room ? seen.Writer.WriteAsync(reading).AsTask() : Task.CompletedTask);
        var strict = new StrictRoomStateClient(state.Connection);
        await using var strictSubscription = await strict.OnStateAsync((r, reading) => r == room ? strictSeen.Writer.WriteAsync(reading).AsTask() : Task.CompletedTask);

        // Raw view of the wire: the clear must be an empty message, not the JSON literal null.
        var raw = Channel.CreateUnbounded<int>();
        await using var rawSubscription = await state.Connection.SubscribeAsync($"state/{room}", (payload, _, _) => raw.Writer.WriteAsync(payload.Length).AsTask());

        await state.PublishStateAsync(room, new Reading(21.5, "C"));
        Assert.Equal(new Reading(21.5, "C"), await seen.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal(new Reading(21.5, "C"), await strictSeen.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.True(await raw.Reader.ReadAsync().AsTask().WaitAsync(Wait) > 0);

        await state.PublishStateAsync(room, null);
        Assert.Null(await seen.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal(0, await raw.Reader.ReadAsync().AsTask().WaitAsync(Wait));

        // The strict handler skipped the clear, and nobody reported a failure.
        await Task.Delay(300);
        Assert.False(strictSeen.Reader.TryRead(out var unexpected), $"the strict handler received {unexpected}");
        Assert.False(failures.Reader.TryRead(out var failure), $"a clear was reported as a failure: {failure?.Exception.Message}");

        // Gone for a late subscriber.
        await using var late = await RoomStateClient.ConnectAsync(fixture.Broker.TcpAddress);
        var lateSeen = Channel.CreateUnbounded<Reading?>();
        await using var lateSubscription = await late.OnStateAsync((r, reading) => r == room ? lateSeen.Writer.WriteAsync(reading).AsTask() : Task.CompletedTask);
        await Task.Delay(500);
        Assert.False(lateSeen.Reader.TryRead(out var retained), $"the cleared topic still held {retained}");
    }

    [MosquittoFact]
    public async Task The_generated_clear_removes_the_retained_message_for_a_late_subscriber()
    {
        var room = "room-" + Guid.NewGuid().ToString("N")[..8];
        await using var state = await RoomStateClient.ConnectAsync(fixture.Broker.TcpAddress);
        await state.PublishStateAsync(room, new Reading(19, "C"));

        // A late subscriber: it waits for the retained message when one is expected (up to 10 s: the shared broker holds
        // every test's retained rooms, and a loaded machine delivers them slowly), or 500 ms for none to come.
        static async Task<List<(Reading? Reading, bool Retain)>> LateAsync(string address, string room, bool expectOne)
        {
            await using var late = await MqttConnection.ConnectAsync(address);
            var client = new RoomStateClient(late);
            var seen = new List<(Reading?, bool)>();
            await using var subscription = await client.OnStateAsync((r, reading) =>
            {
                if (r == room)
                {
                    lock (seen)
                    {
                        seen.Add((reading, true));
                    }
                }

                return Task.CompletedTask;
            });
            int Count()
            {
                lock (seen)
                {
                    return seen.Count;
                }
            }

            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(expectOne ? 10 : 0.5);
            while (DateTime.UtcNow < deadline && (!expectOne || Count() == 0))
            {
                await Task.Delay(20);
            }

            await Task.Delay(expectOne ? 100 : 0); // a second copy would show
            lock (seen)
            {
                return [.. seen];
            }
        }

        Assert.Equal([(new Reading(19, "C"), true)], await LateAsync(fixture.Broker.TcpAddress, room, expectOne: true));
        await state.ClearStateAsync(room);
        Assert.Empty(await LateAsync(fixture.Broker.TcpAddress, room, expectOne: false));
    }
}
