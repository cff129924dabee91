namespace TypedMqtt.Tests.Delivery;

/// <summary>The file outbox on its own, on a real file.</summary>
public sealed class FileOutboxTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "typedmqtt-outbox-" + Guid.NewGuid().ToString("N"));

    private string OutboxPath => Path.Combine(_directory, "outbox.log");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Acknowledging_everything_a_reopened_outbox_held_empties_the_file_and_it_keeps_working()
    {
        using (var first = new MqttFileOutbox(OutboxPath))
        {
            for (var i = 0; i < 3; i++)
            {
                first.Add($"t/{i}", [(byte)i], MqttQos.AtLeastOnce, retain: false);
            }
        }

        // Reopened with entries in it: acknowledging the last one truncates the file (this used to throw IOException,
        // "Unable to truncate data that previously existed in a file opened in Append mode", and killed the connection).
        using (var second = new MqttFileOutbox(OutboxPath))
        {
            var pending = second.Pending();
            Assert.Equal(["t/0", "t/1", "t/2"], pending.Select(m => m.Topic));
            foreach (var message in pending)
            {
                second.Acknowledge(message.Id);
            }

            Assert.Empty(second.Pending());
            Assert.Equal(0, new FileInfo(OutboxPath).Length);

            var id = second.Add("t/after", [9], MqttQos.ExactlyOnce, retain: true);
            Assert.True(id > pending[^1].Id, "ids must not be reused after the file was emptied");
        }

        using var third = new MqttFileOutbox(OutboxPath);
        var left = Assert.Single(third.Pending());
        Assert.Equal("t/after", left.Topic);
        Assert.Equal(MqttQos.ExactlyOnce, left.Qos);
        Assert.True(left.Retain);
        Assert.Equal([9], left.Payload.ToArray());
    }

    [Fact]
    public async Task An_outbox_that_cannot_record_an_acknowledgement_does_not_drop_the_connection()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        using var outbox = new FailingAcknowledgementOutbox(new MqttFileOutbox(OutboxPath));
        var options = MqttConnectionOptionsBuilder.FromAddress(broker.Address).Configure(o => o with { Outbox = outbox }).Build();
        await using var connection = await MqttConnection.ConnectAsync(options);

        for (var i = 0; i < 5; i++)
        {
            await connection.PublishAsync("outbox/ack", new[] { (byte)i }, MqttQos.AtLeastOnce).WaitAsync(TimeSpan.FromSeconds(10));
        }

        // The broker has every message; only the local note failed, so the entries stay for the next process to resend.
        Assert.Equal(5, outbox.Failures);
        Assert.Equal(5, outbox.Pending().Count);
        Assert.Equal(0, connection.Statistics.Reconnects);
        Assert.Equal(0, connection.Statistics.Resent);
        Assert.True(connection.IsConnected);
    }

    /// <summary>A user's outbox whose storage fails when an acknowledgement is written (a full disk, say).</summary>
    private sealed class FailingAcknowledgementOutbox(MqttFileOutbox inner) : IMqttOutbox
    {
        public int Failures { get; private set; }

        public long Add(string topic, ReadOnlySpan<byte> payload, MqttQos qos, bool retain) => inner.Add(topic, payload, qos, retain);

        public void Acknowledge(long id)
        {
            Failures++;
            throw new IOException("No space left on device");
        }

        public IReadOnlyList<MqttOutboxMessage> Pending() => inner.Pending();

        public void Dispose() => inner.Dispose();
    }
}
