using System.Buffers;
using Microsoft.Extensions.Logging;
using TypedMqtt.Diagnostics;

namespace TypedMqtt.Requests;

/// <summary>What <see cref="MqttResponder"/> needs of a responder, whatever its request and reply types.</summary>
internal abstract class ResponderCore
{
    public abstract string Filter { get; }

    public abstract long Answered { get; }

    public abstract long Failed { get; }

    public abstract ValueTask StopAsync();
}

/// <summary>
/// The responder side of request/response: a subscription to the request filter whose handler runs the application's
/// handler and publishes what it returns to the request's response topic with the request's correlation data. A handler
/// that throws, and a request that cannot be decoded, are answered with an error reply (see <see cref="RequestWire"/>);
/// the responder keeps serving. Requests are handled one at a time in arrival order, or up to a maximum at once.
/// </summary>
internal sealed class Responder<TRequest, TReply> : ResponderCore
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly MqttConnection _connection;
    private readonly IMqttPayloadCodec<TReply> _codec;
    private readonly Func<TRequest, MqttMessageContext, CancellationToken, Task<TReply>> _handler;
    private readonly MqttQos _qos;
    private readonly ILogger _logger;
    private readonly Action<MqttMessageErrorEventArgs> _reportError;
    private readonly SemaphoreSlim? _slots;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private MqttSubscription? _subscription;
    private int _linkedToSubscription;
    private int _running;
    private long _answered;
    private long _failed;

    public Responder(
        MqttConnection connection,
        IMqttPayloadCodec<TReply> codec,
        Func<TRequest, MqttMessageContext, CancellationToken, Task<TReply>> handler,
        MqttResponderOptions options,
        ILogger logger,
        Action<MqttMessageErrorEventArgs> reportError)
    {
        _connection = connection;
        _codec = codec;
        _handler = handler;
        _qos = options.Qos;
        _logger = logger;
        _reportError = reportError;
        _slots = options.MaxConcurrency > 1 ? new SemaphoreSlim(options.MaxConcurrency, options.MaxConcurrency) : null;
    }

    public override string Filter => _subscription?.Filter ?? string.Empty;

    public override long Answered => Interlocked.Read(ref _answered);

    public override long Failed => Interlocked.Read(ref _failed);

    public async Task<MqttResponder> StartAsync(string filter, MqttPayloadDecoder<TRequest> decoder, MqttResponderOptions options, CancellationToken cancellationToken)
    {
        // A request that cannot be decoded still gets an answer (an error reply), so the decoder's failure is kept, not thrown.
        MqttPayloadDecoder<Incoming> decode = (topic, payload) =>
        {
            try
            {
                return new Incoming(decoder(topic, payload), null, default);
            }
#pragma warning disable CA1031 // Answered with an error reply and reported; never thrown into the receive path.
            catch (Exception e)
#pragma warning restore CA1031
            {
                return new Incoming(default!, e, payload.ToArray());
            }
        };
        var subscriptionOptions = MqttSubscriptionOptions.Default with { Qos = options.Qos, SharedGroup = options.SharedGroup };
        _subscription = await _connection.SubscribeAsync(filter, decode, OnRequestAsync, subscriptionOptions, cancellationToken).ConfigureAwait(false);
        return new MqttResponder(this);
    }

    public override async ValueTask StopAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_subscription is { } subscription)
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
        }

        if (_slots is not null && Volatile.Read(ref _running) > 0)
        {
            await _idle.Task.WaitAsync(StopTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>The subscription's handler: runs the request here (one at a time) or starts it in a free slot.</summary>
    private Task OnRequestAsync(Incoming request, MqttMessageContext context, CancellationToken subscriptionToken)
    {
        if (Interlocked.Exchange(ref _linkedToSubscription, 1) == 0)
        {
            // The subscription's token is cancelled when the connection closes; the handlers' token follows it.
            subscriptionToken.Register(static state => ((CancellationTokenSource)state!).Cancel(), _stopping);
        }

        return _slots is null ? HandleAsync(request, context) : StartInSlotAsync(request, context, subscriptionToken);
    }

    private async Task StartInSlotAsync(Incoming request, MqttMessageContext context, CancellationToken subscriptionToken)
    {
        await _slots!.WaitAsync(subscriptionToken).ConfigureAwait(false);
        Interlocked.Increment(ref _running);
        _ = RunInSlotAsync(request, context);
    }

    private async Task RunInSlotAsync(Incoming request, MqttMessageContext context)
    {
        try
        {
            await HandleAsync(request, context).ConfigureAwait(false);
        }
        finally
        {
            _slots!.Release();
            if (Interlocked.Decrement(ref _running) == 0 && _stopping.IsCancellationRequested)
            {
                _idle.TrySetResult();
            }
        }
    }

    private async Task HandleAsync(Incoming request, MqttMessageContext context)
    {
        if (request.Error is { } error)
        {
            Interlocked.Increment(ref _failed);
            var stage = error is MqttTopicLevelException ? MqttMessageErrorStage.Topic : MqttMessageErrorStage.Decode;
            _reportError(new MqttMessageErrorEventArgs(stage, Filter, context.Topic, request.Payload, error));
            await SendErrorAsync(context, error.GetType().FullName ?? error.GetType().Name, "The request could not be decoded: " + error.Message).ConfigureAwait(false);
            return;
        }

        TReply reply;
        try
        {
            _stopping.Token.ThrowIfCancellationRequested();
            reply = await _handler(request.Value, context, _stopping.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A failing handler is answered with an error reply; the responder keeps serving.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Interlocked.Increment(ref _failed);
            if (e is OperationCanceledException && _stopping.IsCancellationRequested)
            {
                await SendErrorAsync(context, typeof(OperationCanceledException).FullName!, "The responder stopped before it answered.").ConfigureAwait(false);
                return;
            }

            Log.RequestFailed(_logger, _connection.Options.DisplayAddress, context.Topic, e);
            await SendErrorAsync(context, e.GetType().FullName ?? e.GetType().Name, e.Message).ConfigureAwait(false);
            return;
        }

        Interlocked.Increment(ref _answered);
        if (context.ResponseTopic is not { } responseTopic)
        {
            Log.ReplyNotSent(_logger, _connection.Options.DisplayAddress, context.Topic, "the request has no response topic (it was not sent as a request)", null);
            return;
        }

        var properties = new MqttMessageProperties { CorrelationData = context.CorrelationData };
        await SendAsync(context, () => reply is null
            ? _connection.PublishAsync(responseTopic, ReadOnlyMemory<byte>.Empty, _qos, false, properties)
            : _connection.PublishAsync(responseTopic, reply, _codec, _qos, false, properties)).ConfigureAwait(false);
    }

    private Task SendErrorAsync(MqttMessageContext context, string errorType, string message)
    {
        if (context.ResponseTopic is not { } responseTopic)
        {
            return Task.CompletedTask;
        }

        var (properties, payload) = RequestWire.ErrorReply(context.CorrelationData, errorType, message);
        return SendAsync(context, () => _connection.PublishAsync(responseTopic, payload, _qos, false, properties));
    }

    /// <summary>
    /// Hands a reply to the connection's delivery, in order, without waiting for its acknowledgement: the next request is
    /// handled while the reply travels. A reply that cannot be sent (a malformed response topic, a closed connection) is
    /// logged, never thrown.
    /// </summary>
    private Task SendAsync(MqttMessageContext context, Func<Task> publish)
    {
        Task sending;
        try
        {
            sending = publish();
        }
#pragma warning disable CA1031 // The requester will time out; the responder keeps serving.
        catch (Exception e)
#pragma warning restore CA1031
        {
            sending = Task.FromException(e);
        }

        if (!sending.IsCompletedSuccessfully)
        {
            _ = sending.ContinueWith(
                static (task, state) =>
                {
                    var (responder, context) = ((Responder<TRequest, TReply>, MqttMessageContext))state!;
                    var e = task.Exception!.InnerException!;
                    var reason = e is ArgumentException ? $"the response topic '{context.ResponseTopic}' is not a valid topic name" : e.Message;
                    Log.ReplyNotSent(responder._logger, responder._connection.Options.DisplayAddress, context.Topic, reason, e);
                },
                (this, context),
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        return Task.CompletedTask;
    }

    /// <summary>A received request: its decoded value, or why it could not be decoded (with its payload for the report).</summary>
    internal readonly record struct Incoming(TRequest Value, Exception? Error, ReadOnlyMemory<byte> Payload);
}
