using System.Collections.Concurrent;
using System.Diagnostics;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Connection;

/// <summary>
/// C5 against Mosquitto. Mosquitto 2.0.11 closes the old connection of a taken-over v5 session without sending
/// DISCONNECT 0x8E, so the client cannot tell a take-over from any other close. What it must not do then is fight back
/// every second: each short-lived connection doubles the wait before the next attempt.
/// </summary>
[Collection(MosquittoCollection.Name)]
public sealed class MosquittoTakeoverTests(MosquittoFixture fixture)
{
    private MosquittoBroker Broker => fixture.Broker;

    [MosquittoFact]
    public async Task Duplicate_client_id_does_not_start_a_reconnect_fight()
    {
        var clientId = "dup-" + Guid.NewGuid().ToString("N")[..10];
        var address = $"{Broker.TcpAddress}?clientId={clientId}";
        await using var first = await MqttConnection.ConnectAsync(address);
        var clock = Stopwatch.StartNew();
        var changes = new ConcurrentQueue<(TimeSpan At, MqttConnectionStateChangedEventArgs Change)>();
        var secondAttempt = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var takenOver = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        first.StateChanged += (_, e) =>
        {
            changes.Enqueue((clock.Elapsed, e));
            if (e.IsSessionTakenOver)
            {
                takenOver.TrySetResult();
            }

            if (e.Current == MqttConnectionState.Connecting && changes.Count(c => c.Change.Current == MqttConnectionState.Connecting) >= 2)
            {
                secondAttempt.TrySetResult();
            }
        };

        await using var second = await MqttConnection.ConnectAsync(address);
        var firstSignal = await Task.WhenAny(takenOver.Task, secondAttempt.Task).WaitAsync(TimeSpan.FromSeconds(15));
        if (firstSignal == takenOver.Task)
        {
            // A Mosquitto that sends 0x8E: the distinct event, and no attempt to take the session back.
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.Equal(0, first.ReconnectAttempts);
            return;
        }

        // Mosquitto 2.0.11: each close looks like a normal one. The waits before the first client's attempts must grow.
        var list = changes.ToList();
        var gaps = new List<TimeSpan>();
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i].Change.Current == MqttConnectionState.Disconnected)
            {
                var next = list.Skip(i + 1).FirstOrDefault(c => c.Change.Current == MqttConnectionState.Connecting);
                if (next.Change is not null)
                {
                    gaps.Add(next.At - list[i].At);
                }
            }
        }

        var described = string.Join(" | ", list.Select(c => $"{c.At.TotalSeconds:0.00}s {c.Change.Current}: {c.Change.Reason}"));
        Assert.True(gaps.Count >= 2, described);
        // Default policy: the first retry at a random point within 1.25 s (full jitter), then 2 s doubled for each
        // connection that was closed again within seconds. Delays only ever come out longer than planned, so lower bounds
        // are safe on a busy machine; without the growing backoff the second wait would be 0-1.25 s again.
        Assert.True(gaps[1] >= TimeSpan.FromSeconds(1.95), $"Backoff did not grow ({gaps[0].TotalSeconds:0.00}s then {gaps[1].TotalSeconds:0.00}s): {described}");
        Assert.Equal(2, first.ReconnectAttempts);
    }
}
