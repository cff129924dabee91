using System.Buffers;

namespace TypedMqtt.Dispatch;

/// <summary>One local subscriber: decodes matching messages and hands them, in order, to its handler.</summary>
internal abstract class MessageSink
{
    protected MessageSink(string filter) => Filter = filter;

    /// <summary>The filter as the application declared it (with any <c>$share/group/</c> prefix).</summary>
    public string Filter { get; }

    private volatile bool _established;

    /// <summary>Whether the call that made this subscription returned it (a later failure to subscribe is then reported as SubscriptionFailed).</summary>
    public bool Established
    {
        get => _established;
        set => _established = value;
    }

    /// <summary>Whether the handler takes the <see cref="MqttMessageContext"/>; when not, none is built for it.</summary>
    public abstract bool NeedsContext { get; }

    /// <summary>Decodes the message on the receive path and queues it for the handler (<paramref name="context"/> is null unless <see cref="NeedsContext"/>).</summary>
    public abstract ValueTask DeliverAsync(string topic, ReadOnlySequence<byte> payload, MqttMessageContext? context);

    public abstract ValueTask StopAsync();
}

/// <summary>
/// Decodes to <typeparamref name="T"/> and runs the handler in order, one message at a time. The handler runs on the
/// subscription's own worker, so a handler that blocks its thread holds up neither keep alive nor other subscriptions.
/// A handler that has shown itself quick (its first <see cref="ProbationCalls"/> calls each returned within
/// <see cref="FastCall"/>) is then called directly on the receive path while its worker is idle, which saves a thread
/// hop per message; if it returns an unfinished task the worker takes over from there, and if one direct call ever
/// holds the thread for <see cref="SlowCall"/> or more, the subscription goes back to its worker for good.
/// </summary>
internal sealed class MessageSink<T> : MessageSink
{
    private const int ProbationCalls = 16;
    private const int Probation = 0;
    private const int Direct = 1;
    private const int Isolated = 2;
    private static readonly long FastCall = System.Diagnostics.Stopwatch.Frequency / 10_000; // 100 us
    private static readonly long SlowCall = System.Diagnostics.Stopwatch.Frequency / 200; // 5 ms

    /// <summary>How long disposal waits for a running handler after cancelling its token.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly MqttPayloadDecoder<T> _decode;
    private readonly long _maxPayloadBytes;
    private readonly MessageHandler<T> _handler;
    private readonly Action<MqttMessageErrorEventArgs> _reportError;
    // Unbounded single-reader queue (its reader waits without allocating) with the bound kept here: the receive path
    // waits for space when the handler is Capacity messages behind (back pressure, never a dropped message).
    private readonly HandoffQueue<(T Message, string Topic, MqttMessageContext? Context, Task? Pending)> _queue = new();
    private readonly int _capacity;
    private readonly CancellationTokenSource _stopping = new();
    private int _stopped;
    private readonly Task _worker;
    private int _queued;
    private TaskCompletionSource? _space;
    private int _mode;
    private int _quickCalls;

    // 1 while the handler is running (directly or on the worker), or the worker holds work: the handler never runs twice at once.
    private int _running;

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
        _worker = RunAsync();
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
        catch (MqttEmptyPayloadException)
        {
            // A cleared retained topic, for a handler whose payload cannot be absent: skipped, not a failure.
            return ValueTask.CompletedTask;
        }
#pragma warning disable CA1031 // A malformed payload must never reach the receive loop: it is reported, not thrown.
        catch (Exception e)
#pragma warning restore CA1031
        {
            var stage = e is MqttTopicLevelException ? MqttMessageErrorStage.Topic : MqttMessageErrorStage.Decode;
            _reportError(new MqttMessageErrorEventArgs(stage, Filter, topic, payload.ToArray(), e));
            return ValueTask.CompletedTask;
        }

        if (Volatile.Read(ref _mode) == Direct && Volatile.Read(ref _queued) == 0 && Interlocked.CompareExchange(ref _running, 1, 0) == 0)
        {
            RunDirectly(message, topic, context);
            return ValueTask.CompletedTask;
        }

        if (Volatile.Read(ref _queued) < _capacity)
        {
            Interlocked.Increment(ref _queued);
            _queue.TryWrite((message, topic, context, null));
            return ValueTask.CompletedTask;
        }

        return WriteWhenSpaceAsync(message, topic, context);
    }

    /// <summary>Calls the handler on the receive path (the caller set <see cref="_running"/>); the worker is idle.</summary>
    private void RunDirectly(T message, string topic, MqttMessageContext? context)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        Task task;
        try
        {
            task = Invoke(message, topic, context, _stopping.Token);
        }
#pragma warning disable CA1031 // A throwing handler must not stop its subscription or the connection: it is reported.
        catch (Exception e)
#pragma warning restore CA1031
        {
            task = Task.FromException(e);
        }

        Grade(System.Diagnostics.Stopwatch.GetTimestamp() - started);
        if (!task.IsCompleted)
        {
            // Still running: the worker awaits it before anything that arrives next, and keeps _running until done.
            Interlocked.Increment(ref _queued);
            _queue.TryWrite((default!, topic, null, task));
            return;
        }

        ReportIfFailed(task, topic);
        Volatile.Write(ref _running, 0);
    }

    /// <summary>Calls the handler; while telemetry listens, inside a process span and measured.</summary>
    private Task Invoke(T message, string topic, MqttMessageContext? context, CancellationToken cancellationToken) =>
        Diagnostics.MqttTelemetry.ObservesProcess
            ? InvokeObservedAsync(message, topic, context, cancellationToken)
            : _handler.InvokeAsync(message, context, cancellationToken);

    private async Task InvokeObservedAsync(T message, string topic, MqttMessageContext? context, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var tags = Diagnostics.MqttTelemetry.Tags("process", Filter);
        using var activity = Diagnostics.MqttTelemetry.StartProcess(Filter, topic, context);
        try
        {
            await _handler.InvokeAsync(message, context, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, e.Message);
            tags.Add("error.type", e.GetType().FullName);
            throw;
        }
        finally
        {
            Diagnostics.MqttTelemetry.Consumed.Add(1, tags);
            Diagnostics.MqttTelemetry.ProcessDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        }
    }

    private void ReportIfFailed(Task task, string topic)
    {
        if (task.IsFaulted && task.Exception?.InnerException is { } e && !(e is OperationCanceledException && _stopping.IsCancellationRequested))
        {
            ReportHandlerFailure(topic, e);
        }
    }

    private void ReportHandlerFailure(string topic, Exception e) =>
        _reportError(new MqttMessageErrorEventArgs(MqttMessageErrorStage.Handler, Filter, topic, ReadOnlyMemory<byte>.Empty, e));

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
        _queue.TryWrite((message, topic, context, null));
    }

    public override async ValueTask StopAsync()
    {
        // Stopped once: the connection's close and the subscription's disposal (in either order) both stop it. The token
        // source is never disposed: it holds no timer or wait handle, and a delivery that races the stop still reads its token.
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        _queue.Complete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            // A handler that ignores its cancellation token must not make disposal hang: it is left to finish alone.
            await _worker.WaitAsync(StopTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            ReportHandlerFailure(Filter, new MqttOperationException($"The handler of '{Filter}' was still running {StopTimeout.TotalSeconds:0} s after its subscription was disposed and its cancellation token cancelled; disposal went on without it. Pass the token to the handler's awaits.", null, e));
        }
    }

    /// <summary>
    /// Grades how long one call held its thread before returning its task: a slow call isolates the subscription for
    /// good (whatever the mode); during probation, enough quick calls promote it to direct calls. Called by whichever
    /// side ran the handler, which holds <see cref="_running"/>, so calls are never graded concurrently.
    /// </summary>
    private void Grade(long elapsed)
    {
        if (elapsed >= SlowCall)
        {
            Volatile.Write(ref _mode, Isolated);
        }
        else if (elapsed < FastCall && Volatile.Read(ref _mode) == Probation && ++_quickCalls >= ProbationCalls)
        {
            Interlocked.CompareExchange(ref _mode, Direct, Probation);
        }
    }

    private async Task RunAsync()
    {
        await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding); // runs on the thread pool from here
        var token = _stopping.Token;
        try
        {
            // No token on the wait: it allocates nothing; StopAsync completes the queue to end it.
            var running = false; // whether this worker holds _running
            while (await _queue.WaitToReadAsync().ConfigureAwait(false))
            {
                while (!token.IsCancellationRequested && _queue.TryRead(out var item))
                {
                    if (Interlocked.Decrement(ref _queued) == _capacity - 1 && Interlocked.Exchange(ref _space, null) is { } space)
                    {
                        space.TrySetResult();
                    }

                    if (item.Pending is { } pending)
                    {
                        // A direct call that went asynchronous: it owns _running, which passes to this worker.
                        running = true;
                        await pending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                        ReportIfFailed(pending, item.Topic);
                        continue;
                    }

                    while (!running && Interlocked.CompareExchange(ref _running, 1, 0) != 0)
                    {
                        // A direct call is still on the receive path (only when two writers raced): wait for it.
                        await Task.Yield();
                    }

                    running = true;

                    try
                    {
                        var started = System.Diagnostics.Stopwatch.GetTimestamp();
                        var call = Invoke(item.Message, item.Topic, item.Context, token);
                        Grade(System.Diagnostics.Stopwatch.GetTimestamp() - started);
                        await call.ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (token.IsCancellationRequested)
                    {
                        return;
                    }
#pragma warning disable CA1031 // A throwing handler must not stop its subscription or the connection: it is reported.
                    catch (Exception e)
#pragma warning restore CA1031
                    {
                        ReportHandlerFailure(item.Topic, e);
                    }
                }

                // Idle: a direct call may run now.
                if (running)
                {
                    running = false;
                    Volatile.Write(ref _running, 0);
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
