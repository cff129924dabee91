using System.Collections.Concurrent;
using System.Text;
using TypedMqtt.Tests.Infrastructure;
using static TypedMqtt.Tests.Infrastructure.Wire;

namespace TypedMqtt.Tests.Requests;

/// <summary>Request/response through the embedded broker, and on the wire against a scripted one.</summary>
public sealed class RequestResponseTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private EmbeddedMqttBroker _broker = null!;

    public async Task InitializeAsync() => _broker = await EmbeddedMqttBroker.StartAsync();

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    [Fact]
    public async Task A_thousand_concurrent_calls_each_get_their_own_reply_over_one_response_subscription_per_requester()
    {
        var subscribes = new ConcurrentDictionary<string, ConcurrentBag<string>>();
        _broker.Server.InterceptingSubscriptionAsync += e =>
        {
            subscribes.GetOrAdd(e.ClientId, _ => []).Add(e.TopicFilter.Topic);
            return Task.CompletedTask;
        };

        var (first, second) = await RequestScenarios.ThousandConcurrentCallsAsync(_broker.Address);

        Assert.Equal((500L, 500L), (first.Requests, second.Requests));
        Assert.Equal((0L, 0L, 0L), (first.RequestTimeouts + second.RequestTimeouts, first.LateReplies + second.LateReplies, first.UnknownReplies + second.UnknownReplies));
        var responseSubscriptions = subscribes.Values.Select(filters => filters.Count(f => f.StartsWith("responses/", StringComparison.Ordinal))).Where(n => n > 0).ToList();
        Assert.Equal([1, 1], responseSubscriptions); // one per requester, never one per call
    }

    [Fact]
    public Task A_throwing_handler_is_an_error_reply_raised_as_MqttRequestException_and_the_responder_keeps_serving() =>
        RequestScenarios.ErrorReplyAsync(_broker.Address);

    [Fact]
    public Task Without_a_responder_the_call_times_out_with_a_typed_exception() => RequestScenarios.TimeoutAsync(_broker.Address);

    [Fact]
    public Task A_reply_after_the_timeout_is_dropped_and_counted() => RequestScenarios.LateReplyAsync(_broker.Address);

    [Fact]
    public Task Cancellation_ends_the_call_without_a_timeout() => RequestScenarios.CancellationAsync(_broker.Address);

    /// <summary>
    /// A requester whose link drops (no session kept): a call made while it is offline is answered once it is back. Twenty
    /// other subscriptions come before its response subscription; restored one round trip each after the queue drained,
    /// the request would reach the responder first and the reply would find nobody subscribed to it.
    /// </summary>
    [Fact]
    public async Task A_call_made_while_the_requester_is_offline_is_answered_after_the_reconnect()
    {
        var fleet = RequestScenarios.NewFleet();
        await using var responder = await DeviceRpcClient.ConnectAsync(_broker.Address);
        await using var serving = await responder.ServeRebootAsync((_, device, command, _) => RequestScenarios.Echo(fleet, device, command));
        await using var proxy = new TcpProxy(_broker.Port);
        await using var connection = await FastReconnect.ConnectAsync($"{proxy.Address}?clientId=rq-{fleet}&connectTimeout=1");
        var requester = new DeviceRpcClient(connection);
        var others = new List<MqttSubscription>();
        for (var i = 0; i < 20; i++)
        {
            others.Add(await connection.SubscribeAsync($"test/other/{fleet}/{i}", (_, _, _) => Task.CompletedTask));
        }

        Assert.Equal(new RebootResult("d1", "a", 1, "r"), await requester.RebootAsync(fleet, "d1", new RebootCommand(1, "a"), RequestScenarios.Wait));
        await Outage.GoOfflineAsync(proxy, connection);
        var call = requester.RebootAsync(fleet, "d2", new RebootCommand(2, "b"), RequestScenarios.Wait);
        await proxy.PassThrough();

        Assert.Equal(new RebootResult("d2", "b", 2, "r"), await call);
        Assert.Equal((2L, 0L), (connection.Statistics.Requests, connection.Statistics.RequestTimeouts));
        foreach (var other in others)
        {
            await other.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_persistent_responder_restarted_mid_stream_answers_what_waited_for_it()
    {
        var (answered, failed, byFirst, bySecond) = await RequestScenarios.ResponderRestartAsync(_broker.Address);
        output.WriteLine($"answered {answered} (first {byFirst}, restarted {bySecond}), no reply {failed}");
        Assert.Equal(300, answered + failed);
    }

    [Fact]
    public async Task The_response_topic_is_the_prefix_and_client_id_and_the_prefix_is_configurable()
    {
        var fleet = RequestScenarios.NewFleet();
        var topics = new ConcurrentQueue<string?>();
        await using var responder = await DeviceRpcClient.ConnectAsync(_broker.Address);
        await using var serving = await responder.ServeRebootAsync((_, device, command, context, _) =>
        {
            topics.Enqueue(context.ResponseTopic);
            return RequestScenarios.Echo(fleet, device, command);
        });
        await using var plain = await DeviceRpcClient.ConnectAsync(_broker.Address, o => o.WithClientId("rp-" + fleet));
        await using var prefixed = await DeviceRpcClient.ConnectAsync(_broker.Address, o => o.WithClientId("rx-" + fleet).WithResponseTopicPrefix("test/rpc/replies"));

        await plain.RebootAsync(fleet, "d", new RebootCommand(1, "a"), RequestScenarios.Wait);
        await prefixed.RebootAsync(fleet, "d", new RebootCommand(2, "b"), RequestScenarios.Wait);

        Assert.Equal([$"responses/rp-{fleet}", $"test/rpc/replies/rx-{fleet}"], topics);
    }

    [Fact]
    public async Task A_request_that_cannot_be_decoded_gets_an_error_reply_and_is_reported_on_the_responder()
    {
        var fleet = RequestScenarios.NewFleet();
        await using var responder = await DeviceRpcClient.ConnectAsync(_broker.Address);
        var failures = new ConcurrentQueue<MqttMessageErrorEventArgs>();
        responder.Connection.MessageFailed += (_, e) => failures.Enqueue(e);
        var handled = 0;
        await using var serving = await responder.ServeRebootAsync((_, device, command, _) =>
        {
            Interlocked.Increment(ref handled);
            return RequestScenarios.Echo(fleet, device, command);
        });
        await using var raw = await MqttConnection.ConnectAsync(_broker.Address);
        var replies = new ConcurrentQueue<(string Error, string Text, byte[] Correlation)>();
        await using var replySubscription = await raw.SubscribeAsync($"test/rpc/{fleet}/raw-replies", (payload, context, _) =>
        {
            replies.Enqueue((context.GetUserProperty("typedmqtt-error") ?? string.Empty, RequestScenarios.Text(payload), context.CorrelationData.ToArray()));
            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce });
        var asRequest = new MqttMessageProperties { ResponseTopic = $"test/rpc/{fleet}/raw-replies", CorrelationData = new byte[] { 1, 2, 3 } };

        await raw.PublishAsync($"test/rpc/{fleet}/d1/reboot", "{not json"u8.ToArray(), MqttQos.AtLeastOnce, properties: asRequest);
        await RequestScenarios.Until(() => !replies.IsEmpty, "the error reply arrived");

        var (error, text, correlation) = Assert.Single(replies);
        Assert.StartsWith("System.Text.Json", error, StringComparison.Ordinal);
        Assert.StartsWith("The request could not be decoded: ", text, StringComparison.Ordinal);
        Assert.Equal(new byte[] { 1, 2, 3 }, correlation);
        var failure = Assert.Single(failures);
        Assert.Equal((MqttMessageErrorStage.Decode, $"test/rpc/{fleet}/d1/reboot"), (failure.Stage, failure.Topic));
        Assert.Equal(0, handled);
        Assert.Equal((0L, 1L), (serving.Answered, serving.Failed));

        // A request without a response topic is still handled; there is just nowhere to reply.
        await raw.PublishAsync($"test/rpc/{fleet}/d2/reboot", """{"DelaySeconds":1,"Reason":"fire and forget"}"""u8.ToArray(), MqttQos.AtLeastOnce);
        await RequestScenarios.Until(() => Volatile.Read(ref handled) == 1, "the request without a response topic was handled");
        Assert.Single(replies);
    }

    [Fact]
    public async Task A_non_canonical_topic_value_in_a_request_is_an_error_reply_at_stage_Topic()
    {
        var fleet = RequestScenarios.NewFleet();
        await using var responder = await DeviceRpcClient.ConnectAsync(_broker.Address);
        var failures = new ConcurrentQueue<MqttMessageErrorEventArgs>();
        responder.Connection.MessageFailed += (_, e) => failures.Enqueue(e);
        await using var serving = await responder.ServeReadCounterAsync((_, id, _, _) => Task.FromResult<RebootResult?>(null));
        await using var requester = await DeviceRpcClient.ConnectAsync(_broker.Address);

        // ReadCounterAsync formats 5 as "5"; a raw request on ".../counters/05" carries no value of the contract.
        var error = await Assert.ThrowsAsync<MqttRequestException>(() => requester.Connection.RequestAsync(
            $"test/rpc/{fleet}/counters/05", ReadOnlyMemory<byte>.Empty, MemoryCodec.Instance, Utf8StringCodec.Instance, timeout: RequestScenarios.Wait));
        Assert.Equal("TypedMqtt.MqttTopicLevelException", error.RemoteErrorType);
        Assert.Equal(MqttMessageErrorStage.Topic, Assert.Single(failures).Stage);

        // A null reply travels as an empty message and arrives as null.
        Assert.Null(await requester.ReadCounterAsync(fleet, 5, null, RequestScenarios.Wait));
    }

    [Fact]
    public async Task Request_response_on_an_MQTT_3_1_1_connection_is_refused_before_anything_is_sent()
    {
        await using var client = await DeviceRpcClient.ConnectAsync(_broker.Address, o => o.WithProtocolVersion(MqttVersion.V311));
        var request = await Assert.ThrowsAsync<NotSupportedException>(() => client.RebootAsync("f", "d", new RebootCommand(1, "x")));
        Assert.Contains("needs MQTT 5", request.Message, StringComparison.Ordinal);
        Assert.Contains("MQTT 3.1.1", request.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<NotSupportedException>(() => client.ServeRebootAsync((_, device, command, _) => RequestScenarios.Echo("f", device, command)));
        Assert.Equal(0, client.Connection.Statistics.Requests);
    }

    [Fact]
    public async Task Disposing_the_requester_fails_a_waiting_call_at_once()
    {
        var client = await DeviceRpcClient.ConnectAsync(_broker.Address);
        var call = client.RebootAsync(RequestScenarios.NewFleet(), "nobody", new RebootCommand(0, "x"), TimeSpan.FromMinutes(5));
        await RequestScenarios.Until(() => client.Connection.Statistics.Requests == 1, "the request was sent");
        await client.DisposeAsync();
        var error = await Assert.ThrowsAsync<ObjectDisposedException>(() => call.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains("closed before the reply arrived", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disposing_while_the_request_waits_for_its_PUBACK_fails_it_as_closed_too()
    {
        // A scripted broker that takes the request and never acknowledges it: the call is still publishing when the
        // connection closes, and fails as a call waiting for its reply does (it raced with the PUBACK in the test above).
        var requestSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var broker = new ScriptedBroker(async session =>
        {
            session.AnswerPublish = false;
            await session.SendAsync(Connack());
            await session.WaitForAsync(8);
            await session.WaitForAsync(3);
            requestSeen.TrySetResult();
            await session.WaitForAsync(14); // DISCONNECT
        });
        var client = await DeviceRpcClient.ConnectAsync($"mqtt://127.0.0.1:{broker.Port}");
        var call = client.PingAsync("f", "d1");
        await requestSeen.Task.WaitAsync(RequestScenarios.Wait);

        await client.DisposeAsync();

        var error = await Assert.ThrowsAsync<ObjectDisposedException>(() => call.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains("closed before the reply arrived", error.Message, StringComparison.Ordinal);
        Assert.True(error.InnerException is MqttOperationException, error.ToString());
    }

    [Fact]
    public async Task The_server_Response_Information_roots_the_response_topic_on_the_wire()
    {
        // A scripted broker answers CONNECT with Response Information 'rsp/abc', then replies to the request itself.
        var requestSeen = new TaskCompletionSource<(string ResponseTopic, byte[] Correlation)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var broker = new ScriptedBroker(async session =>
        {
            await session.SendAsync(Connack(properties: Props([0x1A, .. Str("rsp/abc")])));
            var subscribe = await session.WaitForAsync(8);
            Assert.Contains("rsp/abc/responses", Encoding.UTF8.GetString(subscribe.Body), StringComparison.Ordinal);
            var publish = await session.WaitForAsync(3);
            var (responseTopic, correlation) = ReadRequestProperties(publish);
            requestSeen.TrySetResult((responseTopic, correlation));
            await session.SendAsync(Publish(true, Str(responseTopic), qos: 0, properties: Props([0x09, .. RawString(correlation)]), payload: "pong"u8.ToArray()));
        });
        await using var client = await DeviceRpcClient.ConnectAsync($"mqtt://127.0.0.1:{broker.Port}", o => o.WithInformationRequests(requestResponseInformation: true));

        var reply = await client.PingAsync("f", "d1").WaitAsync(RequestScenarios.Wait);

        Assert.Equal("pong", reply);
        var (topic, correlationData) = await requestSeen.Task;
        Assert.Equal("rsp/abc/responses", topic);
        Assert.Equal(16, correlationData.Length);
        Assert.Null(broker.ScriptError);
    }

    /// <summary>The Response Topic (0x08) and Correlation Data (0x09) of a QoS 1 PUBLISH from the client.</summary>
    private static (string ResponseTopic, byte[] Correlation) ReadRequestProperties(RawPacket publish)
    {
        var body = publish.Body;
        var offset = 2 + ((body[0] << 8) | body[1]) + 2; // topic, packet identifier
        var (length, size) = ReadVarint(body, offset);
        offset += size;
        var end = offset + length;
        string? topic = null;
        byte[]? correlation = null;
        while (offset < end)
        {
            var id = body[offset++];
            var fieldLength = (body[offset] << 8) | body[offset + 1];
            var value = body.AsSpan(offset + 2, fieldLength).ToArray();
            switch (id)
            {
                case 0x08:
                    topic = Encoding.UTF8.GetString(value);
                    break;
                case 0x09:
                    correlation = value;
                    break;
                case 0x26:
                    // A user property is two strings.
                    offset += 2 + fieldLength;
                    fieldLength = (body[offset] << 8) | body[offset + 1];
                    break;
                default:
                    throw new InvalidOperationException($"unexpected property 0x{id:X2} in the request");
            }

            offset += 2 + fieldLength;
        }

        return (topic ?? throw new InvalidOperationException("no response topic"), correlation ?? throw new InvalidOperationException("no correlation data"));
    }

    [Fact]
    public void Response_topic_choice()
    {
        var server = new MqttConnectResult { ClientId = "sensor-1" };
        Assert.Equal("responses/sensor-1", TypedMqtt.Requests.Requester.ChooseResponseTopic(server, "responses", 1));
        Assert.Equal("rsp/x/responses", TypedMqtt.Requests.Requester.ChooseResponseTopic(server with { ResponseInformation = "rsp/x/" }, "responses", 1));
        Assert.Equal("responses/000000000000002a", TypedMqtt.Requests.Requester.ChooseResponseTopic(server with { ClientId = "a+b" }, "responses", 42));
        Assert.Equal("p/sensor-1", TypedMqtt.Requests.Requester.ChooseResponseTopic(server with { ResponseInformation = "bad/#" }, "p", 1));
    }
}

/// <summary>The same request/response scenarios through Mosquitto, plus what only it can show (shared subscriptions).</summary>
[Collection(MosquittoCollection.Name)]
public sealed class MosquittoRequestResponseTests(MosquittoFixture mosquitto, Xunit.Abstractions.ITestOutputHelper output)
{
    [MosquittoFact]
    public async Task A_thousand_concurrent_calls_each_get_their_own_reply()
    {
        var (first, second) = await RequestScenarios.ThousandConcurrentCallsAsync(mosquitto.Broker.TcpAddress);
        Assert.Equal(1000L, first.Requests + second.Requests);
        Assert.Equal(0L, first.RequestTimeouts + second.RequestTimeouts + first.LateReplies + second.LateReplies + first.UnknownReplies + second.UnknownReplies);
    }

    [MosquittoFact]
    public Task Two_responders_in_a_shared_group_split_the_requests() => RequestScenarios.SharedGroupAsync(mosquitto.Broker.TcpAddress);

    [MosquittoFact]
    public Task A_throwing_handler_is_an_error_reply() => RequestScenarios.ErrorReplyAsync(mosquitto.Broker.TcpAddress);

    [MosquittoFact]
    public Task Timeout() => RequestScenarios.TimeoutAsync(mosquitto.Broker.TcpAddress);

    [MosquittoFact]
    public Task Late_reply() => RequestScenarios.LateReplyAsync(mosquitto.Broker.TcpAddress);

    [MosquittoFact]
    public Task Cancellation() => RequestScenarios.CancellationAsync(mosquitto.Broker.TcpAddress);

    [MosquittoFact]
    public async Task A_persistent_responder_restarted_mid_stream_answers_what_waited_for_it()
    {
        var (answered, failed, byFirst, bySecond) = await RequestScenarios.ResponderRestartAsync(mosquitto.Broker.TcpAddress);
        output.WriteLine($"answered {answered} (first {byFirst}, restarted {bySecond}), no reply {failed}");
        Assert.Equal(300, answered + failed);
    }
}

/// <summary>The response topic under a broker ACL, as a deployment has it: allowed by the documented pattern, and a clear error when not.</summary>
public sealed class MosquittoAclRequestTests
{
    [MosquittoFact]
    public async Task The_response_topic_works_under_the_documented_ACL_pattern_and_a_refusal_says_what_to_allow()
    {
        var directory = Directory.CreateTempSubdirectory("typedmqtt-acl-");
        try
        {
            var acl = Path.Combine(directory.FullName, "acl");
            await File.WriteAllTextAsync(acl, "topic readwrite test/rpc/#\npattern read responses/%c\npattern write responses/#\n");
            await using var broker = await MosquittoBroker.StartAsync(new MosquittoSetup { PlainOnly = true, PlainListenerConfig = "acl_file " + acl });
            var fleet = RequestScenarios.NewFleet();
            await using var responder = await DeviceRpcClient.ConnectAsync(broker.TcpAddress);
            await using var serving = await responder.ServeRebootAsync((_, device, command, _) => RequestScenarios.Echo(fleet, device, command));

            await using var allowed = await DeviceRpcClient.ConnectAsync(broker.TcpAddress, o => o.WithClientId("acl-" + fleet));
            Assert.Equal(new RebootResult("d1", "ok", 1, "r"), await allowed.RebootAsync(fleet, "d1", new RebootCommand(1, "ok"), RequestScenarios.Wait));

            // Mosquitto 2.0 grants a subscription its ACL denies and then delivers nothing, so the call can only time out;
            // the timeout names the response topic and the ACL question.
            await using var refused = await DeviceRpcClient.ConnectAsync(broker.TcpAddress, o => o.WithClientId("acx-" + fleet).WithResponseTopicPrefix("private"));
            var error = await Assert.ThrowsAsync<MqttRequestTimeoutException>(() => refused.RebootAsync(fleet, "d2", new RebootCommand(2, "no"), TimeSpan.FromSeconds(2)));
            Assert.True(error.Sent);
            Assert.Contains($"read its response topic 'private/acx-{fleet}'", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
