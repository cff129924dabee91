using System.Buffers;
using System.Runtime.ExceptionServices;
using MQTTnet.Channel;

namespace TypedMqtt.Wire;

/// <summary>
/// Coalesces outbound packets: MQTTnet writes one packet at a time (one socket write each, under its send lock); this
/// copies each into a buffer and returns at once, while one flush at a time, on the thread pool, writes everything
/// buffered so far in a single write. Packets that arrive while a flush runs go out together in the next one, so a fast
/// publisher makes fewer system calls (and the broker fewer reads). Order is kept; past <see cref="MaxBuffered"/> bytes
/// a writer waits for the flush (back pressure, so a stalled socket cannot grow the buffer without bound); a failed
/// flush fails every later write, which makes MQTTnet close the connection. A packet that finds the writer idle for at
/// least <see cref="IdleForInline"/> is written at once on the caller's thread instead: nothing is waiting to be
/// coalesced with it, and a request/acknowledgement exchange (a QoS 1 publish awaited one at a time) should not pay a
/// thread-pool hop per packet. Its buffers come from the shared pool while packets wait and go back when it is idle.
/// </summary>
internal sealed class CoalescingWriter(IMqttChannel inner) : IThreadPoolWorkItem
{
    private const int MaxBuffered = 256 * 1024;
    private static readonly long IdleForInline = System.Diagnostics.Stopwatch.Frequency / 20_000; // 50 us
    private readonly object _gate = new();
    private const int BufferSize = 8 * 1024;

    // Both buffers are borrowed from the shared pool when a packet comes and given back when the writer goes idle, so an
    // idle connection holds none.
    private byte[] _pending = [];
    private int _pendingLength;
    private byte[] _sending = [];
    private bool _flushing;
    private int _sendingLength;
    private TaskCompletionSource? _sendingDrained;
    private Task? _inFlight;
    private Action? _resume;
    private TaskCompletionSource? _drained;
    private ExceptionDispatchInfo? _failure;
    private bool _disposed;
    private long _idleSince;

    public Task WriteAsync(ReadOnlySequence<byte> buffer, bool isEndOfPacket)
    {
        bool inline;
        lock (_gate)
        {
            _failure?.Throw();
            ObjectDisposedException.ThrowIf(_disposed, this);
            Append(buffer);
            if (!isEndOfPacket)
            {
                return Task.CompletedTask; // the rest of the packet follows under MQTTnet's send lock
            }

            inline = false;
            if (!_flushing)
            {
                _flushing = true;
                inline = System.Diagnostics.Stopwatch.GetTimestamp() - _idleSince >= IdleForInline;
                if (!inline)
                {
                    ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false); // the writer is its own work item: no allocation
                }
            }

            if (!inline && _pendingLength >= MaxBuffered)
            {
                _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return _drained.Task;
            }
        }

        if (inline)
        {
            // Quiet link: write now. A write that does not complete at once goes on as a normal flush; a failure fails
            // the next write, as with a queued flush.
            Flush();
        }

        return Task.CompletedTask;
    }

    /// <summary>Completes when everything buffered so far has been written (before a DISCONNECT's socket is closed).</summary>
    public Task FlushPendingAsync()
    {
        lock (_gate)
        {
            _failure?.Throw();
            if (!_flushing && _pendingLength == 0)
            {
                return Task.CompletedTask;
            }

            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _drained.Task;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _drained?.TrySetException(new ObjectDisposedException(nameof(CoalescingWriter)));
            _drained = null;
        }
    }

    /// <summary>Runs the flush (queued by <see cref="WriteAsync"/>).</summary>
    void IThreadPoolWorkItem.Execute() => Flush();

    private void Append(ReadOnlySequence<byte> buffer)
    {
        var length = checked((int)buffer.Length);
        if (_pendingLength + length > _pending.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(Math.Max(_pendingLength + length, _pending.Length * 2), BufferSize));
            _pending.AsSpan(0, _pendingLength).CopyTo(larger);
            Return(_pending);
            _pending = larger;
        }

        buffer.CopyTo(_pending.AsSpan(_pendingLength));
        _pendingLength += length;
    }

    /// <summary>
    /// Writes batches until nothing is pending. Not an async method: a write that does not complete at once resumes this
    /// loop through one cached continuation, so a flush allocates nothing of its own however often the socket is full.
    /// </summary>
    private void Flush()
    {
        while (true)
        {
            Task write;
            lock (_gate)
            {
                if (_inFlight is { } finished)
                {
                    // Resumed after a write that completed later: settle it first.
                    _inFlight = null;
                    if (!Settle(finished))
                    {
                        return;
                    }
                }

                if (_pendingLength == 0 || _disposed)
                {
                    _flushing = false;
                    _idleSince = System.Diagnostics.Stopwatch.GetTimestamp();
                    Return(_pending);
                    Return(_sending);
                    (_pending, _sending) = ([], []);
                    _drained?.TrySetResult();
                    _drained = null;
                    return;
                }

                // Swap: writers go on filling the other buffer while this one is written.
                (_pending, _sending) = (_sending, _pending);
                _sendingLength = _pendingLength;
                _pendingLength = 0;
                _sendingDrained = _drained;
                _drained = null;
            }

            try
            {
                write = inner.WriteAsync(new ReadOnlySequence<byte>(_sending, 0, _sendingLength), true, CancellationToken.None);
            }
#pragma warning disable CA1031 // Whatever failed the write fails the connection: it is handed to the next writer.
            catch (Exception e)
#pragma warning restore CA1031
            {
                write = Task.FromException(e);
            }

            if (!write.IsCompleted)
            {
                lock (_gate)
                {
                    _inFlight = write;
                }

                write.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_resume ??= Flush);
                return;
            }

            lock (_gate)
            {
                if (!Settle(write))
                {
                    return;
                }
            }
        }
    }

    private static void Return(byte[] buffer)
    {
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Settles a finished write (under the gate); false when it failed, which ends the flushing for good.</summary>
    private bool Settle(Task write)
    {
        var drained = _sendingDrained;
        _sendingDrained = null;
        if (write.IsCompletedSuccessfully)
        {
            drained?.TrySetResult();
            return true;
        }

        var e = write.Exception?.InnerException ?? new IOException("The write was cancelled.");
        _failure = ExceptionDispatchInfo.Capture(e);
        _flushing = false;
        drained?.TrySetException(e);
        _drained?.TrySetException(e);
        _drained = null;
        return false;
    }
}
