using System.Collections.Concurrent;
using System.Net.WebSockets;
using TypedMqtt.Tests.Infrastructure;
using TypedMqtt.Tests.Requests;
using static TypedMqtt.Tests.Infrastructure.Wire;

namespace TypedMqtt.Tests.Conformance;

/// <summary>
/// MQTT over WebSocket (MQTT 5 §6, MQTT 3.1.1 §6) against a scripted WebSocket broker that writes frames as it likes:
/// the client offers the <c>mqtt</c> subprotocol, sends binary frames only, reads packets split over frames and several
/// packets in one frame, and ends the connection on a text frame.
/// </summary>
public sealed class WebSocketFrameTests
{
    [Theory]
    [InlineData(MqttVersion.V500)]
    [InlineData(MqttVersion.V311)]
    public async Task Packets_are_read_across_and_within_frames_and_sent_in_binary_frames_under_the_mqtt_subprotocol(MqttVersion version)
    {
        var v5 = version == MqttVersion.V500;
        await using var broker = new ScriptedWebSocketBroker();
        var connecting = MqttConnection.ConnectAsync(MqttConnectionOptionsBuilder.FromAddress(broker.Address).WithProtocolVersion(version).Build());
        await broker.AcceptAsync();
        Assert.Contains("mqtt", broker.Header("Sec-WebSocket-Protocol")!.Split(',', StringSplitOptions.TrimEntries));

        Assert.Equal(1, (await broker.ReadPacketAsync()).Type);
        var connack = v5 ? Connack() : [0x20, 0x02, 0x00, 0x00];
        await broker.SendFramesAsync(connack[..1], connack[1..3], connack[3..]); // one packet over three frames
        await using var connection = await connecting.WaitAsync(TimeSpan.FromSeconds(10));

        var subscribing = MessageProbe.SubscribeAsync(connection, "ws/#", MqttQos.AtMostOnce);
        var subscribe = await broker.ReadPacketAsync();
        Assert.Equal(0x82, subscribe.Header);
        var suback = Packet(0x90, U16(subscribe.PacketId), v5 ? [0x00] : [], [0x00]);

        // SUBACK and two PUBLISHes in one frame, then a PUBLISH fragmented into continuation frames of 3 bytes.
        await broker.SendFramesAsync(Concat(suback, Publish(v5, Str("ws/one"), payload: "1"u8.ToArray()), Publish(v5, Str("ws/two"), payload: "2"u8.ToArray())));
        await broker.SendFragmentedAsync(Publish(v5, Str("ws/three"), payload: "3"u8.ToArray()), 3);
        await using var probe = await subscribing.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["ws/one", "ws/two", "ws/three"], [(await probe.NextAsync()).Topic, (await probe.NextAsync()).Topic, (await probe.NextAsync()).Topic]);

        await connection.PublishAsync("ws/out", "x"u8.ToArray(), MqttQos.AtMostOnce);
        Assert.Equal(0x30, (await broker.ReadPacketAsync()).Header);
        Assert.All(broker.FrameTypes, type => Assert.Equal(WebSocketMessageType.Binary, type));
        Assert.True(broker.FrameTypes.Count >= 3);
    }

    [Fact]
    public async Task A_text_frame_ends_the_connection_and_its_bytes_are_not_read_as_MQTT()
    {
        await using var broker = new ScriptedWebSocketBroker();
        var states = new ConcurrentQueue<MqttConnectionStateChangedEventArgs>();
        await using var connection = MqttConnection.Create(MqttConnectionOptionsBuilder.FromAddress(broker.Address).Build());
        connection.StateChanged += (_, e) => states.Enqueue(e);
        var opening = connection.OpenAsync();
        await broker.AcceptAsync();
        await broker.ReadPacketAsync();
        await broker.SendFramesAsync(Connack());
        await opening.WaitAsync(TimeSpan.FromSeconds(10));
        var delivered = 0;
        await using var subscription = await SubscribeAnsweredAsync(connection, broker, () => Interlocked.Increment(ref delivered));

        await broker.SendTextAsync(Publish(true, Str("ws/text"), payload: "not binary"u8.ToArray()));

        Assert.True(await broker.ClientClosedAsync(), "the client kept the connection after a text frame");
        await RequestScenarios.Until(() => states.Any(e => e.Current == MqttConnectionState.Disconnected), "StateChanged to Disconnected");
        Assert.Contains("text frame", states.First(e => e.Current == MqttConnectionState.Disconnected).Reason, StringComparison.Ordinal);
        Assert.Equal(0, Volatile.Read(ref delivered));
    }

    private static async Task<MqttSubscription> SubscribeAnsweredAsync(MqttConnection connection, ScriptedWebSocketBroker broker, Action onMessage)
    {
        var subscribing = connection.SubscribeAsync("ws/#", (_, _, _) =>
        {
            onMessage();
            return Task.CompletedTask;
        });
        var subscribe = await broker.ReadPacketAsync();
        await broker.SendFramesAsync(Packet(0x90, U16(subscribe.PacketId), [0x00], [0x01]));
        return await subscribing.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
