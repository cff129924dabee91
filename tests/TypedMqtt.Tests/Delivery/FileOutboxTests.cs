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
    public void A_reopened_outbox_returns_each_message_with_its_properties_and_when_it_was_accepted()
    {
        var properties = new MqttMessageProperties
        {
            MessageExpiryInterval = 90,
            ContentType = "application/json",
            PayloadFormat = MqttPayloadFormat.Utf8,
            ResponseTopic = "replies/é",
            CorrelationData = new byte[] { 1, 2, 3 },
            UserProperties = [new MqttUserProperty("trace", "abc"), new MqttUserProperty("trace", "second"), new MqttUserProperty("empty", string.Empty)],
        };
        var before = DateTimeOffset.UtcNow;
        using (var first = new MqttFileOutbox(OutboxPath))
        {
            first.Add("t/with", [1], MqttQos.ExactlyOnce, retain: true, properties);
            first.Add("t/without", [2], MqttQos.AtLeastOnce, retain: false);
        }

        using var second = new MqttFileOutbox(OutboxPath);
        var pending = second.Pending();
        var with = pending[0].Properties!;
        Assert.Equal((90u, "application/json", MqttPayloadFormat.Utf8, "replies/é"), (with.MessageExpiryInterval, with.ContentType, with.PayloadFormat, with.ResponseTopic));
        Assert.Equal([1, 2, 3], with.CorrelationData.ToArray());
        Assert.Equal(properties.UserProperties, with.UserProperties);
        Assert.Null(pending[1].Properties);
        Assert.All(pending, m => Assert.InRange(m.AcceptedAt, before.AddSeconds(-1), DateTimeOffset.UtcNow));
    }

    [Fact]
    public void A_file_written_before_properties_were_kept_is_still_read()
    {
        Directory.CreateDirectory(_directory);
        byte[] legacy = [(byte)'A', 7, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, (byte)'o', (byte)'/', (byte)'t', 1, 0, 2, 0, 0, 0, 0xAB, 0xCD];
        File.WriteAllBytes(OutboxPath, legacy);

        using var outbox = new MqttFileOutbox(OutboxPath);
        var message = Assert.Single(outbox.Pending());
        Assert.Equal((7L, "o/t", MqttQos.AtLeastOnce, false), (message.Id, message.Topic, message.Qos, message.Retain));
        Assert.Equal([0xAB, 0xCD], message.Payload.ToArray());
        Assert.Null(message.Properties);
        Assert.True(outbox.Add("o/next", [], MqttQos.AtLeastOnce, retain: false) > 7);
    }

    [Fact]
    public async Task After_a_restart_a_stored_message_that_expired_meanwhile_is_not_sent_and_the_others_keep_their_properties()
    {
        // What a crashed process left: two messages accepted 1.5 s ago, one of them with a 1 s expiry.
        using (var crashed = new MqttFileOutbox(OutboxPath))
        {
            crashed.Add("outbox/expired", "old"u8, MqttQos.AtLeastOnce, retain: false, new MqttMessageProperties { MessageExpiryInterval = 1 });
            crashed.Add("outbox/kept", "kept"u8, MqttQos.AtLeastOnce, retain: false, new MqttMessageProperties
            {
                MessageExpiryInterval = 60,
                UserProperties = [new MqttUserProperty("origin", "before-crash")],
            });
        }

        await Task.Delay(1500);
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var subscriber = await MqttConnection.ConnectAsync(broker.Address);
        await using var probe = await Infrastructure.MessageProbe.SubscribeAsync(subscriber, "outbox/#");
        using var outbox = new MqttFileOutbox(OutboxPath);
        await using var restarted = await MqttConnection.ConnectAsync(MqttConnectionOptionsBuilder.FromAddress(broker.Address).Configure(o => o with { Outbox = outbox }).Build());

        var kept = await probe.NextAsync();
        Assert.Equal("outbox/kept", kept.Topic);
        Assert.Equal([new MqttUserProperty("origin", "before-crash")], kept.Context.UserProperties);
        Assert.InRange(kept.Context.MessageExpiryInterval ?? 0, 1u, 59u); // 60 s less the time it waited
        await probe.AssertNothingAsync(TimeSpan.FromMilliseconds(500));
        Assert.Equal(1, restarted.Statistics.Dropped);
        await RequestsUntilAsync(() => outbox.Pending().Count == 0);
    }

    private static Task RequestsUntilAsync(Func<bool> condition) => Requests.RequestScenarios.Until(condition, "the outbox to empty");

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

        public long Add(string topic, ReadOnlySpan<byte> payload, MqttQos qos, bool retain, MqttMessageProperties? properties = null) => inner.Add(topic, payload, qos, retain, properties);

        public void Acknowledge(long id)
        {
            Failures++;
            throw new IOException("No space left on device");
        }

        public IReadOnlyList<MqttOutboxMessage> Pending() => inner.Pending();

        public void Dispose() => inner.Dispose();
    }
}
