using System.Collections.Concurrent;
using System.Text;
using System.Threading.Channels;

namespace TypedMqtt.Tests.Typed;

/// <summary>Generated clients against MQTTnet's in-process broker: what is published arrives typed, and bad input never reaches the wire.</summary>
public sealed class TypedClientTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private EmbeddedMqttBroker _broker = null!;

    public async Task InitializeAsync() => _broker = await EmbeddedMqttBroker.StartAsync();

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    [Fact]
    public async Task Every_topic_parameter_type_round_trips_through_the_topic()
    {
        await using var client = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill().WithCodecContentType());
        var received = new TaskCompletionSource<(string Site, int Id, Mode Mode, bool Active, Guid Batch, Reading Reading, MqttMessageContext Context)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await client.OnReadingAsync((site, id, mode, active, batch, reading, context, _) =>
        {
            received.TrySetResult((site, id, mode, active, batch, reading, context));
            return Task.CompletedTask;
        });
        var batchId = Guid.NewGuid();

        await client.PublishReadingAsync("plant-ä", -17, Mode.Cooling, true, batchId, new Reading(3.25, "bar"));

        var message = await received.Task.WaitAsync(Wait);
        Assert.Equal(("plant-ä", -17, Mode.Cooling, true, batchId), (message.Site, message.Id, message.Mode, message.Active, message.Batch));
        Assert.Equal(new Reading(3.25, "bar"), message.Reading);
        Assert.Equal($"test/sensors/plant-ä/-17/Cooling/true/{batchId:D}", message.Context.Topic);
        Assert.Equal(MqttQos.AtLeastOnce, message.Context.Qos);
        Assert.Equal("application/json", message.Context.ContentType);
        Assert.Equal(MqttPayloadFormat.Utf8, message.Context.PayloadFormat);
    }

    [Fact]
    public async Task Repeated_alternating_and_long_topic_values_each_arrive_on_their_own_topic()
    {
        // The generated client reuses the last topic string of an operation (and the last string read for a level) when
        // the text is equal: a stale reuse would show here as a value arriving under another value's topic.
        await using var client = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill());
        var received = Channel.CreateUnbounded<(string Site, int Id, string Topic)>();
        await using var subscription = await client.OnReadingAsync((site, id, _, _, _, _, context, _) =>
        {
            received.Writer.TryWrite((site, id, context.Topic));
            return Task.CompletedTask;
        });
        var batch = Guid.Parse("6d1f0b8e-8c1a-4a57-9a0e-3f1f6f1f2a10");
        var longSite = new string('s', 300); // past the 256 characters formatted on the stack
        (string Site, int Id)[] sent = [("a", 1), ("a", 1), ("b", 1), ("a", 2), ("a", 2), ("ab", 2), (longSite, 3), (longSite, 3), ("a", 1)];

        foreach (var (site, id) in sent)
        {
            await client.PublishReadingAsync(site, id, Mode.Idle, false, batch, new Reading(1, "x"));
        }

        foreach (var (site, id) in sent)
        {
            var message = await received.Reader.ReadAsync().AsTask().WaitAsync(Wait);
            Assert.Equal((site, id, $"test/sensors/{site}/{id}/Idle/false/{batch:D}"), message);
        }
    }

    [Fact]
    public void Reuse_returns_the_previous_string_only_for_equal_text()
    {
        string? last = null;
        var first = MqttTopic.Reuse(ref last, "room-1".AsSpan());
        var again = MqttTopic.Reuse(ref last, "room-1x".AsSpan(0, 6));
        var other = MqttTopic.Reuse(ref last, "room-2".AsSpan());

        Assert.Equal("room-1", first);
        Assert.Same(first, again);
        Assert.Equal("room-2", other);
        Assert.Same(other, last);
        Assert.Equal(string.Empty, MqttTopic.Reuse(ref last, ReadOnlySpan<char>.Empty));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_codec_content_type_is_sent_only_when_asked_for(bool ask)
    {
        var address = _broker.Address + (ask ? "?codecContentType=true" : string.Empty);
        await using var client = await TelemetryClient.ConnectAsync(address, o => o.NoWill());
        var received = new TaskCompletionSource<MqttMessageContext>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await client.OnReadingAsync((_, _, _, _, _, _, context, _) =>
        {
            received.TrySetResult(context);
            return Task.CompletedTask;
        });

        await client.PublishReadingAsync("s", 1, Mode.Cooling, false, Guid.NewGuid(), new Reading(1, "bar"));

        var context = await received.Task.WaitAsync(Wait);
        Assert.Equal(ask ? "application/json" : null, context.ContentType);
        Assert.Equal(ask ? MqttPayloadFormat.Utf8 : MqttPayloadFormat.Unspecified, context.PayloadFormat);
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("a/b", "'/'")]
    [InlineData("a+", "'+'")]
    [InlineData("#", "'#'")]
    [InlineData("a\0b", "U+0000")]
    public async Task A_value_that_would_break_the_topic_throws_naming_the_parameter_and_sends_nothing(string site, string expected)
    {
        await using var client = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill());
        var everything = Channel.CreateUnbounded<string>();
        await using var spy = await client.Connection.SubscribeAsync("#", (_, context, _) => everything.Writer.WriteAsync(context.Topic).AsTask());

        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.PublishReadingAsync(site, 1, Mode.Idle, false, Guid.Empty, new Reading(1, "x")));
        Assert.Equal("site", error.ParamName);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);

        // Publish a sentinel: if the bad publish had reached the broker, it would arrive first.
        await client.PingAsync();
        Assert.Equal("test/ping", await everything.Reader.ReadAsync().AsTask().WaitAsync(Wait));
    }

    [Fact]
    public async Task A_lone_surrogate_in_a_topic_value_is_an_error_not_a_replacement_character()
    {
        await using var client = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill());
        var site = "a" + (char)0xD800;

        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.PublishReadingAsync(site, 1, Mode.Idle, false, Guid.Empty, new Reading(1, "x")));

        Assert.Equal("site", error.ParamName);
        Assert.Contains("lone surrogate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Catch_all_parameter_keeps_slashes_and_static_and_per_call_properties_arrive()
    {
        await using var client = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill());
        var received = new TaskCompletionSource<(string Path, byte[] Content, MqttMessageContext Context)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await client.OnFileAsync((path, content, context) =>
        {
            received.TrySetResult((path, content, context));
            return ValueTask.CompletedTask;
        });

        await client.PublishFileAsync("logs/2026/11/27.txt", [1, 2, 3], new MqttMessageProperties
        {
            CorrelationData = new byte[] { 9, 8 },
            ResponseTopic = "test/replies",
            MessageExpiryInterval = 120,
            UserProperties = [new MqttUserProperty("trace", "abc")],
        });

        var (path, content, context) = await received.Task.WaitAsync(Wait);
        Assert.Equal("logs/2026/11/27.txt", path);
        Assert.Equal(new byte[] { 1, 2, 3 }, content);
        Assert.Equal(MqttQos.ExactlyOnce, context.Qos);
        Assert.Equal(new byte[] { 9, 8 }, context.CorrelationData.ToArray());
        Assert.Equal("test/replies", context.ResponseTopic);
        Assert.InRange(context.MessageExpiryInterval ?? 0, 1u, 120u);
        Assert.Equal(["kind=file", "trace=abc"], context.UserProperties.Select(p => p.Name + "=" + p.Value));
        Assert.Null(context.ContentType);
    }

    [Fact]
    public async Task Retained_value_reaches_a_late_subscriber_which_can_tell_it_was_retained()
    {
        await using var publisher = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill());
        await publisher.PublishNoteAsync("greeting", "hello, late subscriber");
        // QoS 0 completes once written: the broker may not have stored it yet (then the subscriber gets it live).
        while ((await _broker.Server.GetRetainedMessagesAsync()).Count == 0)
        {
            await Task.Delay(5);
        }

        await using var late = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill());
        var received = new TaskCompletionSource<(string Topic, string Text)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await late.Connection.SubscribeAsync("test/notes/+", (payload, context, _) =>
        {
            received.TrySetResult((context.Retain ? "retained" : "live", Encoding.UTF8.GetString(payload.Span)));
            return Task.CompletedTask;
        });

        Assert.Equal(("retained", "hello, late subscriber"), await received.Task.WaitAsync(Wait));
    }

    [Fact]
    public async Task Malformed_payload_goes_to_MessageFailed_with_topic_and_bytes_and_the_connection_keeps_delivering()
    {
        await using var client = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill());
        var failures = new TaskCompletionSource<MqttMessageErrorEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Connection.MessageFailed += (_, e) => failures.TrySetResult(e);
        var handled = Channel.CreateUnbounded<int>();
        await using var subscription = await client.OnReadingAsync((_, id, _, _, _, _, _, _) => handled.Writer.WriteAsync(id).AsTask());

        var garbage = Encoding.UTF8.GetBytes("{ not json");
        await client.Connection.PublishAsync("test/sensors/s/1/Idle/true/00000000-0000-0000-0000-000000000000", garbage, MqttQos.AtLeastOnce);
        await client.Connection.PublishAsync("test/sensors/s/not-a-number/Idle/true/00000000-0000-0000-0000-000000000000", Encoding.UTF8.GetBytes("""{"Value":1,"Unit":"x"}"""), MqttQos.AtLeastOnce);
        await client.PublishReadingAsync("s", 2, Mode.Idle, true, Guid.Empty, new Reading(1, "x"));

        var failure = await failures.Task.WaitAsync(Wait);
        Assert.Equal(MqttMessageErrorStage.Decode, failure.Stage);
        Assert.Equal("test/sensors/s/1/Idle/true/00000000-0000-0000-0000-000000000000", failure.Topic);
        Assert.Equal(garbage, failure.Payload.ToArray());
        Assert.Equal(2, await handled.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.False(handled.Reader.TryRead(out _), "a malformed message reached the handler");
        Assert.True(client.Connection.IsConnected);
    }

    [Fact]
    public async Task Topic_levels_not_in_their_one_text_form_go_to_MessageFailed_with_stage_Topic_and_never_to_the_handler()
    {
        await using var client = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill());
        var failures = Channel.CreateUnbounded<MqttMessageErrorEventArgs>();
        client.Connection.MessageFailed += (_, e) => failures.Writer.TryWrite(e);
        var handled = Channel.CreateUnbounded<string>();
        await using var subscription = await client.OnReadingAsync((_, id, mode, active, batch, _, context, _) => handled.Writer.WriteAsync(context.Topic).AsTask());

        var json = Encoding.UTF8.GetBytes("""{"Value":1,"Unit":"x"}""");
        const string Batch = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
        string[] nonCanonical =
        [
            $"test/sensors/s/05/Idle/true/{Batch}",            // leading zero
            $"test/sensors/s/-0/Idle/true/{Batch}",            // negative zero
            $"test/sensors/s/ 5/Idle/true/{Batch}",            // white space
            $"test/sensors/s/5/idle/true/{Batch}",             // enum in another case
            $"test/sensors/s/5/1/true/{Batch}",                // enum as a number
            $"test/sensors/s/5/Idle,Cooling/true/{Batch}",     // enum combination
            $"test/sensors/s/5/Idle/True/{Batch}",             // bool in another case
            $"test/sensors/s/5/Idle/true/{Batch.ToUpperInvariant()}", // Guid upper case
            $"test/sensors/s/5/Idle/true/{Batch.Replace("-", string.Empty, StringComparison.Ordinal)}", // Guid without hyphens
        ];
        foreach (var topic in nonCanonical)
        {
            await client.Connection.PublishAsync(topic, json, MqttQos.AtLeastOnce);
        }

        await client.PublishReadingAsync("s", 5, Mode.Idle, true, Guid.Parse(Batch), new Reading(1, "x"));

        Assert.Equal($"test/sensors/s/5/Idle/true/{Batch}", await handled.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        var reported = new List<MqttMessageErrorEventArgs>();
        while (reported.Count < nonCanonical.Length)
        {
            reported.Add(await failures.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        }

        Assert.Equal(nonCanonical, reported.Select(f => f.Topic));
        Assert.All(reported, f => Assert.Equal(MqttMessageErrorStage.Topic, f.Stage));
        Assert.All(reported, f => Assert.IsType<MqttTopicLevelException>(f.Exception));
        Assert.False(handled.Reader.TryRead(out var extra), $"a non-canonical topic reached the handler: {extra}");
    }

    [Fact]
    public async Task Publishing_an_undefined_enum_value_throws_naming_the_parameter_and_sends_nothing()
    {
        await using var client = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill());
        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.PublishReadingAsync("s", 1, (Mode)42, true, Guid.Empty, new Reading(1, "x")));
        Assert.Equal("mode", error.ParamName);
        Assert.Equal(0, client.Connection.Statistics.Completed + client.Connection.Statistics.QueueLength);
    }

    [Fact]
    public async Task An_oversized_payload_is_reported_and_never_decoded_and_small_ones_still_arrive()
    {
        await using var client = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill());
        var failures = new TaskCompletionSource<MqttMessageErrorEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Connection.MessageFailed += (_, e) => failures.TrySetResult(e);
        var handled = Channel.CreateUnbounded<string>();
        await using var subscription = await client.OnLimitedAsync((_, text) => handled.Writer.WriteAsync(text).AsTask());

        await client.Connection.PublishAsync("test/limited/1", new byte[100], MqttQos.AtLeastOnce);
        await client.Connection.PublishAsync("test/limited/2", Encoding.UTF8.GetBytes("small"), MqttQos.AtLeastOnce);

        var failure = await failures.Task.WaitAsync(Wait);
        Assert.Equal("test/limited/1", failure.Topic);
        Assert.Contains("more than the limit of 16", failure.Exception.Message, StringComparison.Ordinal);
        Assert.Equal("small", await handled.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.False(handled.Reader.TryRead(out _));
    }

    [Fact]
    public async Task Deeply_nested_JSON_is_refused_by_the_depth_limit_and_the_connection_stays_up()
    {
        await using var client = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill());
        var failures = new TaskCompletionSource<MqttMessageErrorEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Connection.MessageFailed += (_, e) => failures.TrySetResult(e);
        var handled = Channel.CreateUnbounded<int>();
        await using var subscription = await client.OnReadingAsync((_, id, _, _, _, _, _, _) => handled.Writer.WriteAsync(id).AsTask());
        var hostile = "{\"Value\":1,\"Unit\":" + new string('[', 5000) + new string(']', 5000) + "}";

        await client.Connection.PublishAsync($"test/sensors/s/1/Idle/true/{Guid.Empty}", Encoding.UTF8.GetBytes(hostile), MqttQos.AtLeastOnce);
        await client.PublishReadingAsync("s", 2, Mode.Idle, true, Guid.Empty, new Reading(1, "x"));

        var failure = await failures.Task.WaitAsync(Wait);
        Assert.Equal(MqttMessageErrorStage.Decode, failure.Stage);
        Assert.IsAssignableFrom<System.Text.Json.JsonException>(failure.Exception);
        Assert.Equal(2, await handled.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.True(client.Connection.IsConnected);
    }

    [Fact]
    public async Task A_throwing_handler_is_reported_and_later_messages_still_arrive()
    {
        await using var client = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill());
        var errors = new ConcurrentQueue<MqttMessageErrorEventArgs>();
        client.Connection.MessageFailed += (_, e) => errors.Enqueue(e);
        var seen = Channel.CreateUnbounded<string>();
        await using var subscription = await client.OnNoteAsync(async (topic, text) =>
        {
            await seen.Writer.WriteAsync(text);
            if (text == "boom")
            {
                throw new InvalidOperationException("handler failed");
            }
        });

        await client.PublishNoteAsync("t", "boom");
        await client.PublishNoteAsync("t", "after");

        Assert.Equal("boom", await seen.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal("after", await seen.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        var error = Assert.Single(errors);
        Assert.Equal(MqttMessageErrorStage.Handler, error.Stage);
        Assert.IsType<InvalidOperationException>(error.Exception);
        await client.PublishNoteAsync("t", string.Empty);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_contract_will_is_published_with_the_client_id_in_its_topic_when_the_client_drops(bool codecContentType)
    {
        await using var watcher = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill());
        var device = await TelemetryClient.ConnectAsync(_broker.Address, o =>
        {
            o.Will(new Status(false, "power lost"));
            if (codecContentType)
            {
                o.WithCodecContentType();
            }
        });
        var deviceId = device.Connection.Options.ClientId;
        var will = new TaskCompletionSource<(string Id, Status Status, MqttMessageContext Context)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await watcher.OnStatusAsync((id, status, context, _) =>
        {
            will.TrySetResult((id, status, context));
            return Task.CompletedTask;
        });

        await device.Connection.AbortAsync();

        var (id, status, context) = await will.Task.WaitAsync(Wait);
        Assert.Equal(deviceId, id);
        Assert.Equal(new Status(false, "power lost"), status);
        // The codec's content type follows the same opt-in as publishes.
        Assert.Equal(codecContentType ? "application/json" : null, context.ContentType);
        Assert.Equal(codecContentType ? MqttPayloadFormat.Utf8 : MqttPayloadFormat.Unspecified, context.PayloadFormat);
        await device.DisposeAsync();
        await watcher.Connection.PublishAsync($"test/devices/{deviceId}/status", ReadOnlyMemory<byte>.Empty, MqttQos.AtLeastOnce, retain: true);
    }

    [Fact]
    public async Task The_will_is_not_published_on_a_normal_disconnect()
    {
        await using var watcher = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill());
        var statuses = Channel.CreateUnbounded<string>();
        await using var subscription = await watcher.OnStatusAsync((id, _, _, _) => statuses.Writer.WriteAsync(id).AsTask());
        var device = await TelemetryClient.ConnectAsync(_broker.Address, o => o.Will(new Status(false, "lost")));

        await device.DisposeAsync();
        await watcher.PingAsync();
        await Task.Delay(300);

        Assert.False(statuses.Reader.TryRead(out var id), $"a will arrived for {id} after a normal disconnect");
    }

    [Fact]
    public async Task A_contract_with_a_will_must_be_given_it_or_told_explicitly_that_there_is_none()
    {
        var connects = 0;
        _broker.Server.ClientConnectedAsync += _ =>
        {
            Interlocked.Increment(ref connects);
            return Task.CompletedTask;
        };

        // Forgetting the will is an error before any socket opens, on both ways to connect.
        var forgotten = await Assert.ThrowsAsync<ArgumentException>(() => TelemetryClient.ConnectAsync(_broker.Address));
        Assert.Equal("Contract ITelemetry declares a last will on 'test/devices/{clientId}/status', but none was given: pass its payload with .Will(new Status(...)), or connect without a will explicitly with .NoWill().", forgotten.Message);
        Assert.Throws<ArgumentException>(() => new TelemetryClient.Options().WithAddress(_broker.Address).Build());
        Assert.Equal(0, Volatile.Read(ref connects));

        // NoWill connects without one: a drop publishes nothing.
        await using var watcher = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill());
        var statuses = Channel.CreateUnbounded<string>();
        await using var subscription = await watcher.OnStatusAsync((id, _, _, _) => statuses.Writer.WriteAsync(id).AsTask());
        var device = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill());
        Assert.Null(device.Connection.Options.Will);
        await device.Connection.AbortAsync();
        await device.DisposeAsync();
        await Task.Delay(300);
        await watcher.PingAsync();
        Assert.False(statuses.Reader.TryRead(out var id), $"a will arrived for {id} from a client that connected with NoWill");
    }

    [Fact]
    public async Task Two_contracts_share_one_connection_and_an_inheriting_contract_implements_both()
    {
        await using var connection = await MqttConnection.ConnectAsync(_broker.Address);
        var telemetry = new TelemetryClient(connection);
        var alarms = IAlarms.Attach(connection);
        var zones = Channel.CreateUnbounded<string>();
        await using var alarmSubscription = await alarms.OnAlarmAsync((zone, message, _) => zones.Writer.WriteAsync(zone + ":" + message).AsTask());

        await using var plant = await PlantClient.ConnectAsync(_broker.Address, o => o.NoWill()); // IPlant inherits ITelemetry's will
        IAlarms viaPlant = plant;
        await viaPlant.RaiseAsync("north", "smoke");
        ITelemetry telemetryViaPlant = plant;
        await telemetryViaPlant.PingAsync();

        Assert.Equal("north:smoke", await zones.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        await telemetry.DisposeAsync();
        Assert.True(connection.IsConnected, "disposing an attached client must leave the shared connection open");
    }

    [Fact]
    public async Task An_operation_declared_FailFast_refuses_while_offline_and_others_queue()
    {
        var broker = await EmbeddedMqttBroker.StartAsync();
        await using var client = await AlarmsClient.ConnectAsync(broker.Address, o => o.Configure(c => c with
        {
            Reconnect = new MqttReconnectOptions { MinDelay = TimeSpan.FromSeconds(30) },
        }));
        await broker.DisposeAsync();
        var deadline = DateTime.UtcNow + Wait;
        while (client.Connection.State != MqttConnectionState.Disconnected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var error = await Assert.ThrowsAsync<MqttOperationException>(() => client.RaiseUrgentAsync("west", "fire"));
        var queued = client.RaiseAsync("west", "smoke");

        Assert.Contains("FailFast", error.Message, StringComparison.Ordinal);
        Assert.False(queued.IsCompleted);
        Assert.Equal(1, client.Connection.Statistics.QueueLength);
    }

    [Fact]
    public async Task Disposing_a_subscription_unsubscribes()
    {
        await using var client = await AlarmsClient.ConnectAsync(_broker.Address);
        var first = Channel.CreateUnbounded<string>();
        var second = Channel.CreateUnbounded<string>();
        var subscription = await client.OnAlarmAsync((zone, _, _) => first.Writer.WriteAsync(zone).AsTask());
        await using var other = await client.Connection.SubscribeAsync("test/alarms/+", (_, context, _) => second.Writer.WriteAsync(context.Topic).AsTask());

        await subscription.DisposeAsync();
        await client.RaiseAsync("east", "after dispose");

        Assert.Equal("test/alarms/east", await second.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.False(first.Reader.TryRead(out _), "a disposed subscription still received a message");
    }

    [Fact]
    public async Task A_null_nullable_string_payload_is_an_empty_message_and_decodes_back_to_null()
    {
        await using var client = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill());
        var received = Channel.CreateUnbounded<(int, string?)>();
        var sizes = Channel.CreateUnbounded<int>();
        await using var raw = await client.Connection.SubscribeAsync("test/optional/+", (payload, _, _) => sizes.Writer.WriteAsync(payload.Length).AsTask());
        await using var subscription = await client.OnOptionalAsync((id, text) => received.Writer.WriteAsync((id, text)).AsTask());

        await client.PublishOptionalAsync(1, null);
        await client.PublishOptionalAsync(2, "two");

        Assert.Equal((1, (string?)null), await received.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal((2, "two"), await received.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal(0, await sizes.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal(3, await sizes.Reader.ReadAsync().AsTask().WaitAsync(Wait));
    }

    [Fact]
    public async Task A_custom_codec_encodes_and_decodes()
    {
        await using var client = await TelemetryClient.ConnectAsync(_broker.Address, o => o.NoWill().WithCodecContentType());
        var raw = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var typed = new TaskCompletionSource<(int, string)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rawSubscription = await client.Connection.SubscribeAsync("test/custom/+", (payload, context, _) =>
        {
            raw.TrySetResult(Encoding.UTF8.GetString(payload.Span) + "|" + context.ContentType);
            return Task.CompletedTask;
        });
        await using var subscription = await client.OnCustomAsync((id, text) =>
        {
            typed.TrySetResult((id, text));
            return Task.CompletedTask;
        });

        await client.PublishCustomAsync(7, "abc");

        Assert.Equal("cba|text/x-reversed", await raw.Task.WaitAsync(Wait));
        Assert.Equal((7, "abc"), await typed.Task.WaitAsync(Wait));
    }

    [Fact]
    public async Task A_contract_pinned_to_3_1_1_works_on_a_3_1_1_connection_without_sending_properties()
    {
        await using var client = await LegacyClient.ConnectAsync(_broker.Address);
        Assert.Equal(MqttVersion.V311, client.Connection.Options.ProtocolVersion);
        var received = new TaskCompletionSource<(int, string, MqttMessageContext)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await client.OnValueAsync((id, value, context) =>
        {
            received.TrySetResult((id, value, context));
            return Task.CompletedTask;
        });

        await client.PublishAsync(5, "five");

        var (id, value, context) = await received.Task.WaitAsync(Wait);
        Assert.Equal((5, "five"), (id, value));
        Assert.Null(context.ContentType);
    }

    [Fact]
    public async Task MQTT_5_properties_declared_on_a_contract_are_left_out_on_a_3_1_1_connection_and_a_calls_own_are_a_clear_error()
    {
        await using var client = await TelemetryClient.ConnectAsync(_broker.Address + "?version=3.1.1", o => o.NoWill());
        var received = new TaskCompletionSource<MqttMessageContext>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await client.OnFileAsync((_, _, context) =>
        {
            received.TrySetResult(context);
            return ValueTask.CompletedTask;
        });

        // The declared user property ("kind") cannot travel on 3.1.1: the file goes without it.
        await client.PublishFileAsync("a", [1]);
        Assert.Empty((await received.Task.WaitAsync(Wait)).UserProperties);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.PublishFileAsync("a", [1], new MqttMessageProperties { ContentType = "application/octet-stream" }));
        Assert.Contains("MQTT 5 feature", error.Message, StringComparison.Ordinal);
    }
}
