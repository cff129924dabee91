using System.Buffers;
using System.Threading.Channels;

namespace TypedMqtt.Dispatch;

/// <summary>One local subscriber: decodes matching messages and hands them, in order, to its handler.</summary>
internal abstract class MessageSink
{
    protected MessageSink(string filter) => Filter = filter;

    /// <summary>The filter as the application declared it (with any <c>$share/group/</c> prefix).</summary>
    public string Filter { get; }

    /// <summary>Whether the handler takes the <see cref="MqttMessageContext"/>; when not, none is built for it.</summary>
    public abstract bool NeedsContext { get; }

    /// <summary>Decodes the message on the receive path and queues it for the handler (<paramref name="context"/> is null unless <see cref="NeedsContext"/>).</summary>
    public abstract ValueTask DeliverAsync(string topic, ReadOnlySequence<byte> payload, MqttMessageContext? context);

    public abstract ValueTask StopAsync();
}

/// <summary>Decodes to <typeparamref name="T"/> and runs the handler on its own ordered worker.</summary>
internal sealed class MessageSink<T> : MessageSink
{
    /// <summary>How long disposal waits for a running handler after cancelling its token.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly MqttPayloadDecoder<T> _decode;
    private readonly long _maxPayloadBytes;
    private readonly MessageHandler<T> _handler;
    private readonly Action<MqttMessageErrorEventArgs> _reportError;
    // Unbounded single-reader channel (its reader waits without allocating) with the bound kept here: the receive path
    // waits for space when the handler is Capacity messages behind (back pressure, never a dropped message).
    private readonly Channel<(T Message, string Topic, MqttMessageContext? Context)> _queue;
    private readonly int _capacity;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _worker;
    private int _queued;
    private TaskCompletionSource? _space;

    public MessageSink(
        string filter,
        MqttPayloadDecoder<T> decode,
        MessageHandler<T> handler,
        int capacity,
        long maxPayloadBytes,
        Action<MqttMessageErrorEventArgs> reportError)
        : base(filter)
    {
        _maxPayloadBytes = maxPayloadBytes;
        _decode = decode;
        _handler = handler;
        _reportError = reportError;
        _capacity = Math.Max(1, capacity);
        _queue = Channel.CreateUnbounded<(T, string, MqttMessageContext?)>(new UnboundedChannelOptions
        {
            SingleReader = true,
            SingleWriter = false, // held messages of a resumed session are handed over while the receive path runs
            AllowSynchronousContinuations = false,
        });
        _worker = Task.Run(RunAsync);
    }

    public override bool NeedsContext => _handler.NeedsContext;

    public override ValueTask DeliverAsync(string topic, ReadOnlySequence<byte> payload, MqttMessageContext? context)
    {
        if (payload.Length > _maxPayloadBytes)
        {
            // Never hand an oversized payload to a decoder: a hostile sender could make it allocate without bound.
            _reportError(new MqttMessageErrorEventArgs(MqttMessageErrorStage.Decode, Filter, topic, ReadOnlyMemory<byte>.Empty,
                new MqttOperationException($"The payload on '{topic}' is {payload.Length} bytes, more than the limit of {_maxPayloadBytes} (MaxPayloadBytes); it was not decoded.")));
            return ValueTask.CompletedTask;
        }

        T message;
        try
        {
            message = _decode(topic, payload);
        }
#pragma warning disable CA1031 // A malformed payload must never reach the receive loop: it is reported, not thrown.
        catch (Exception e)
#pragma warning restore CA1031
        {
            _reportError(new MqttMessageErrorEventArgs(MqttMessageErrorStage.Decode, Filter, topic, payload.ToArray(), e));
            return ValueTask.CompletedTask;
        }

        if (Volatile.Read(ref _queued) < _capacity)
        {
            Interlocked.Increment(ref _queued);
            _queue.Writer.TryWrite((message, topic, context));
            return ValueTask.CompletedTask;
        }

        return WriteWhenSpaceAsync(message, topic, context);
    }

    // The only writer is the receive path, so at most one waits here at a time.
    private async ValueTask WriteWhenSpaceAsync(T message, string topic, MqttMessageContext? context)
    {
        while (Volatile.Read(ref _queued) >= _capacity)
        {
            var space = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _space, space);
            if (Volatile.Read(ref _queued) < _capacity)
            {
                break; // the worker made room before it could see the waiter
            }

            try
            {
                await space.Task.WaitAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return; // The subscription is being disposed; the message is no longer wanted.
            }
        }

        Interlocked.Increment(ref _queued);
        _queue.Writer.TryWrite((message, topic, context));
    }

    public override async ValueTask StopAsync()
    {
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            // A handler that ignores its cancellation token must not make disposal hang: it is left to finish alone.
            await _worker.WaitAsync(StopTimeout).ConfigureAwait(false);
            _stopping.Dispose();
        }
        catch (TimeoutException e)
        {
            _reportError(new MqttMessageErrorEventArgs(MqttMessageErrorStage.Handler, Filter, Filter, ReadOnlyMemory<byte>.Empty,
                new MqttOperationException($"The handler of '{Filter}' was still running {StopTimeout.TotalSeconds:0} s after its subscription was disposed and its cancellation token cancelled; disposal went on without it. Pass the token to the handler's awaits.", null, e)));
        }
    }

    private async Task RunAsync()
    {
        var token = _stopping.Token;
        try
        {
            // No token on the wait: a single reader's wait then allocates nothing; StopAsync completes the writer to end it.
            while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (!token.IsCancellationRequested && _queue.Reader.TryRead(out var item))
                {
                    if (Interlocked.Decrement(ref _queued) == _capacity - 1 && Interlocked.Exchange(ref _space, null) is { } space)
                    {
                        space.TrySetResult();
                    }

                    try
                    {
                        await _handler.InvokeAsync(item.Message, item.Context, token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (token.IsCancellationRequested)
                    {
                        return;
                    }
#pragma warning disable CA1031 // A throwing handler must not stop its subscription or the connection: it is reported.
                    catch (Exception e)
#pragma warning restore CA1031
                    {
                        _reportError(new MqttMessageErrorEventArgs(MqttMessageErrorStage.Handler, Filter, item.Topic, ReadOnlyMemory<byte>.Empty, e));
                    }
                }

                if (token.IsCancellationRequested)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Disposed.
        }
    }
}

/// <summary>A subscription's handler, with or without the message context.</summary>
internal sealed class MessageHandler<T>
{
    private readonly Func<T, MqttMessageContext, CancellationToken, Task>? _withContext;
    private readonly Func<T, CancellationToken, Task>? _withoutContext;

    public MessageHandler(Func<T, MqttMessageContext, CancellationToken, Task> handler) => _withContext = handler;

    public MessageHandler(Func<T, CancellationToken, Task> handler) => _withoutContext = handler;

    public bool NeedsContext => _withContext is not null;

    public Task InvokeAsync(T message, MqttMessageContext? context, CancellationToken cancellationToken) =>
        _withoutContext is { } handler ? handler(message, cancellationToken) : _withContext!(message, context!, cancellationToken);
}
