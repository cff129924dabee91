using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using TypedMqtt.Diagnostics;
using TypedMqtt.Topics;

namespace TypedMqtt.Requests;

/// <summary>
/// The requester side of request/response for one connection: one long-lived subscription to this connection's response
/// topic, shared by every call and made on the first; each call registers under a correlation number, publishes the
/// request with the response topic and correlation data, and waits for the matching reply, the timeout or cancellation.
/// A reply nobody waits for (it came after its timeout, or was never ours) is dropped and counted.
/// </summary>
internal sealed class Requester
{
    private readonly MqttConnection _connection;
    private readonly ILogger _logger;
    private ConcurrentDictionary<long, PendingReply>? _pending; // created by the first request: most connections never make one
    private readonly long _nonce = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8));
    private readonly object _gate = new();
    private Task<string>? _responseTopic;
    private long _calls;
    private long _timeouts;
    private long _lateReplies;
    private long _unknownReplies;
    private volatile string? _closed;

    public Requester(MqttConnection connection, ILogger logger)
    {
        _connection = connection;
        _logger = logger;
    }

    public long Calls => Interlocked.Read(ref _calls);

    public long Timeouts => Interlocked.Read(ref _timeouts);

    public long LateReplies => Interlocked.Read(ref _lateReplies);

    public long UnknownReplies => Interlocked.Read(ref _unknownReplies);

    public int Pending => Volatile.Read(ref _pending)?.Count ?? 0;

    public async Task<TReply> RequestAsync<TRequest, TReply>(
        string topic,
        string? topicTemplate,
        TRequest request,
        IMqttPayloadCodec<TRequest> requestCodec,
        IMqttPayloadCodec<TReply> replyCodec,
        MqttQos qos,
        MqttMessageProperties? properties,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var responseTopic = await ResponseTopicAsync(cancellationToken).ConfigureAwait(false);
        var call = Interlocked.Increment(ref _calls);
        var pending = new PendingReply<TReply>(topic, replyCodec);
        var table = LazyInitializer.EnsureInitialized(ref _pending);
        table[call] = pending;
        if (_closed is { } closed)
        {
            table.TryRemove(call, out _);
            throw new ObjectDisposedException(nameof(MqttConnection), closed);
        }

        // The response topic and correlation data are how the reply finds this call: they are not the caller's to set.
        var requestProperties = (properties ?? MqttMessageProperties.Empty) with { ResponseTopic = responseTopic, CorrelationData = RequestWire.Correlation(_nonce, call) };

        using var deadline = timeout == Timeout.InfiniteTimeSpan ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline?.CancelAfter(timeout);
        var token = deadline?.Token ?? cancellationToken;
        var sent = false;
        try
        {
            var publish = request is null
                ? _connection.PublishAsync(topic, ReadOnlyMemory<byte>.Empty, qos, false, requestProperties, null, token, topicTemplate)
                : _connection.PublishAsync(topic, request, requestCodec, qos, false, requestProperties, null, token, topicTemplate);
            await publish.ConfigureAwait(false);
            sent = true;
            return await pending.Task.WaitAsync(token).ConfigureAwait(false);
        }
        catch (MqttOperationException e) when (_closed is { } closedWhilePublishing)
        {
            // Closed while the request itself waited for its PUBACK: the same failure as a call that waited for its reply.
            throw new ObjectDisposedException(closedWhilePublishing, e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested && deadline is not null && deadline.IsCancellationRequested)
        {
            Interlocked.Increment(ref _timeouts);
            throw new MqttRequestTimeoutException(topic, timeout, sent, e, responseTopic);
        }
        catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested && e.CancellationToken != cancellationToken)
        {
            // The caller's token, not the internal deadline's, so 'catch when (e.CancellationToken == token)' works.
            throw new OperationCanceledException($"The request on '{topic}' was cancelled{(sent ? " after it was sent; a reply that comes later is dropped" : " before it was sent")}.", e, cancellationToken);
        }
        finally
        {
            table.TryRemove(call, out _);
        }
    }

    /// <summary>Fails every waiting call: the connection is closing and no reply can arrive any more.</summary>
    public void Close(string reason)
    {
        Interlocked.Exchange(ref _closed, reason); // a full fence: a request that adds itself after this sees it
        if (Volatile.Read(ref _pending) is not { } table)
        {
            return;
        }

        foreach (var call in table.Keys)
        {
            if (table.TryRemove(call, out var pending))
            {
                pending.Fail(new ObjectDisposedException(nameof(MqttConnection), reason));
            }
        }
    }

    /// <summary>The response topic, subscribed once per connection; a failed subscribe is retried by the next call.</summary>
    private Task<string> ResponseTopicAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_responseTopic is null || _responseTopic.IsFaulted || _responseTopic.IsCanceled)
            {
                _responseTopic = SubscribeResponseTopicAsync();
            }

            return _responseTopic.IsCompletedSuccessfully ? _responseTopic : _responseTopic.WaitAsync(cancellationToken);
        }
    }

    private async Task<string> SubscribeResponseTopicAsync()
    {
        // The topic depends on what CONNACK said (Response Information, an assigned client id): wait for a connection
        // that was created before it opened.
        await _connection.WhenLinkedAsync(CancellationToken.None).ConfigureAwait(false);
        var topic = ChooseResponseTopic(_connection.ConnectResult, _connection.Options.ResponseTopicPrefix, _nonce);
        try
        {
            // QoS 1: a reply the broker has for us survives a dropped connection (with a persistent session, a restart too).
            await _connection.SubscribeAsync(topic, OnReplyAsync, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce }).ConfigureAwait(false);
            return topic;
        }
        catch (MqttOperationException e)
        {
            throw new MqttOperationException(
                $"Replies to this connection's requests go to '{topic}', but subscribing to it failed: {e.Message} Allow this client to subscribe to it (a Mosquitto ACL pattern such as 'pattern read {_connection.Options.ResponseTopicPrefix}/%c'), or choose another prefix with WithResponseTopicPrefix.",
                e.ReasonCode,
                e);
        }
    }

    /// <summary>
    /// The server's Response Information, when it gave one, is the root of a topic tree reserved for this client:
    /// replies go to <c>{info}/responses</c>. Otherwise <c>{prefix}/{client id}</c>; a client id that cannot be one level
    /// (it holds a wildcard) is replaced by this connection's nonce.
    /// </summary>
    internal static string ChooseResponseTopic(MqttConnectResult server, string prefix, long nonce)
    {
        if (server.ResponseInformation is { Length: > 0 } information)
        {
            var candidate = information.TrimEnd('/') + "/responses";
            if (TopicRules.CheckTopicName(candidate) is null)
            {
                return candidate;
            }
        }

        var clientId = server.ClientId;
        var level = clientId.Length > 0 && clientId.IndexOfAny(['+', '#', '/']) < 0 ? clientId : nonce.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
        return prefix + "/" + level;
    }

    private Task OnReplyAsync(ReadOnlyMemory<byte> payload, MqttMessageContext context, CancellationToken cancellationToken)
    {
        if (!RequestWire.TryReadCorrelation(context.CorrelationData.Span, out var nonce, out var call) || nonce != _nonce)
        {
            Interlocked.Increment(ref _unknownReplies);
            Log.ReplyDropped(_logger, _connection.Options.DisplayAddress, context.Topic, "its correlation data is not from this connection");
            return Task.CompletedTask;
        }

        if (Volatile.Read(ref _pending) is not { } table || !table.TryRemove(call, out var pending))
        {
            var late = call > 0 && call <= Interlocked.Read(ref _calls);
            Interlocked.Increment(ref late ? ref _lateReplies : ref _unknownReplies);
            Log.ReplyDropped(_logger, _connection.Options.DisplayAddress, context.Topic, late ? "its request timed out or was cancelled" : "no request of this connection has its correlation data");
            return Task.CompletedTask;
        }

        pending.Complete(payload, context);
        return Task.CompletedTask;
    }

    private abstract class PendingReply
    {
        public abstract void Complete(ReadOnlyMemory<byte> payload, MqttMessageContext context);

        public abstract void Fail(Exception error);
    }

    private sealed class PendingReply<T>(string topic, IMqttPayloadCodec<T> codec) : PendingReply
    {
        private readonly TaskCompletionSource<T> _reply = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<T> Task => _reply.Task;

        public override void Complete(ReadOnlyMemory<byte> payload, MqttMessageContext context)
        {
            if (context.GetUserProperty(RequestWire.ErrorProperty) is { } errorType)
            {
                _reply.TrySetException(new MqttRequestException(topic, errorType, Encoding.UTF8.GetString(payload.Span)));
                return;
            }

            try
            {
                _reply.TrySetResult(codec.Decode(new ReadOnlySequence<byte>(payload)));
            }
#pragma warning disable CA1031 // Whatever the codec throws belongs to the caller, not to the receive path.
            catch (Exception e)
#pragma warning restore CA1031
            {
                var what = e is MqttEmptyPayloadException ? $"the reply is empty, but {typeof(T).Name} is not nullable" : $"the reply could not be decoded as {typeof(T).Name}: {e.Message}";
                _reply.TrySetException(new MqttRequestException(topic, null, what, e));
            }
        }

        public override void Fail(Exception error) => _reply.TrySetException(error);
    }
}
