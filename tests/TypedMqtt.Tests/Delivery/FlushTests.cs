using MQTTnet.Packets;

namespace TypedMqtt.Tests.Delivery;

/// <summary>
/// <see cref="MqttConnection.FlushAsync"/> promises that every publish accepted before it is done when it returns: a
/// graceful stop relies on it. The reader takes an acknowledged publish out of the session and completes its task a little
/// later (once its next socket read is pending, or on a worker), so the flush must wait for that too. The link here runs on
/// an adapter the test drives, which holds that moment open.
/// </summary>
public sealed class FlushTests
{
    [Fact]
    public async Task A_flush_returns_only_after_the_acknowledged_publish_has_completed()
    {
        var options = new MqttConnectionOptionsBuilder().WithAddress("mqtt://127.0.0.1:1883").WithClientId("flush").WithKeepAlive(TimeSpan.Zero).Build();
        var connection = new MqttConnection(options);
        using var adapter = new HeldAdapter();
        var link = await connection.OpenLinkAsync(adapter, new MqttConnectResult());

        var publish = connection.PublishAsync("flush/x", "1"u8.ToArray(), MqttQos.AtLeastOnce);
        var id = await adapter.Published.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var flush = connection.FlushAsync();
        await Task.Delay(50);
        Assert.False(flush.IsCompleted, "the flush returned while the publish was in flight");

        // What the reader does with a PUBACK: the flow leaves the session; the caller is told afterwards.
        var acknowledged = connection.Delivery.OnAcknowledgement(link, new MqttPubAckPacket { PacketIdentifier = id });
        Assert.NotNull(acknowledged);
        await Task.Delay(50);
        Assert.False(publish.IsCompleted);
        Assert.False(flush.IsCompleted, "the flush returned before the acknowledged publish's task completed");

        acknowledged.CompleteHere();
        await flush.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(publish.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_publish_withdrawn_before_it_was_written_does_not_hold_up_a_flush()
    {
        var options = new MqttConnectionOptionsBuilder().WithAddress("mqtt://127.0.0.1:1883").WithClientId("flush-withdrawn").WithKeepAlive(TimeSpan.Zero).Build();
        var connection = new MqttConnection(options);
        using var cancel = new CancellationTokenSource();

        // No link: the publish waits in the offline queue until its caller gives up on it.
        var publish = connection.PublishAsync("flush/x", "1"u8.ToArray(), MqttQos.AtLeastOnce, cancellationToken: cancel.Token);
        var flush = connection.FlushAsync();
        await Task.Delay(50);
        Assert.False(flush.IsCompleted, "the flush returned while a publish was queued");

        await cancel.CancelAsync();
        var withdrawn = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => publish);
        Assert.Contains("withdrawn", withdrawn.Message, StringComparison.Ordinal);
        await flush.WaitAsync(TimeSpan.FromSeconds(5));
    }

    /// <summary>Writes nowhere and reads nothing until disposed; reports the packet identifier of the first PUBLISH.</summary>
    private sealed class HeldAdapter : Shared.QuietChannelAdapter
    {
        private readonly CancellationTokenSource _closed = new();

        public TaskCompletionSource<ushort> Published { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken)
        {
            using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closed.Token);
            await Task.Delay(Timeout.Infinite, both.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            return null!;
        }

        public override Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken)
        {
            if (packet is MqttPublishPacket publish)
            {
                Published.TrySetResult(publish.PacketIdentifier);
            }

            return Task.CompletedTask;
        }

        public override void Dispose()
        {
            _closed.Cancel();
            _closed.Dispose();
        }
    }
}
