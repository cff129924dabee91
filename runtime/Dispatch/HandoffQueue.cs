using System.Diagnostics.CodeAnalysis;
using System.Threading.Tasks.Sources;

namespace TypedMqtt.Dispatch;

/// <summary>
/// An unbounded queue from any number of writers to one reader, whose reader waits without allocating and is resumed on
/// the thread pool (never inside a writer). It holds nothing while empty: a subscription or a link that is idle keeps
/// about 100 bytes here, where a <see cref="System.Threading.Channels.Channel{T}"/> keeps its first 32-slot segment
/// (1.8 KB for a subscription's items). The storage grows while items wait and is given back once a burst of more than
/// <see cref="KeepAfterBurst"/> items has been read.
/// </summary>
/// <typeparam name="T">The item.</typeparam>
internal sealed class HandoffQueue<T> : IValueTaskSource<bool>
{
    private const int KeepAfterBurst = 64;

    private readonly Queue<T> _items = new();
    private ManualResetValueTaskSourceCore<bool> _wait = new() { RunContinuationsAsynchronously = true };
    private bool _waiting;
    private bool _completed;
    private int _peak;

    /// <summary>Adds an item; false once <see cref="Complete"/> was called.</summary>
    public bool TryWrite(T item)
    {
        lock (_items)
        {
            if (_completed)
            {
                return false;
            }

            _items.Enqueue(item);
            _peak = Math.Max(_peak, _items.Count);
            if (!_waiting)
            {
                return true;
            }

            _waiting = false;
        }

        _wait.SetResult(true);
        return true;
    }

    /// <summary>No more items: the reader's wait ends with false once the queue is empty.</summary>
    public void Complete()
    {
        lock (_items)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            if (!_waiting)
            {
                return;
            }

            _waiting = false;
        }

        _wait.SetResult(false);
    }

    /// <summary>True when an item can be read, false when the queue is complete and empty. One reader, one wait at a time.</summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        lock (_items)
        {
            if (_items.Count > 0)
            {
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            _wait.Reset();
            _waiting = true;
            return new ValueTask<bool>(this, _wait.Version);
        }
    }

    /// <summary>Whether no item waits now.</summary>
    public bool IsEmpty
    {
        get
        {
            lock (_items)
            {
                return _items.Count == 0;
            }
        }
    }

    /// <summary>Takes the oldest item, if any.</summary>
    public bool TryRead([MaybeNullWhen(false)] out T item)
    {
        lock (_items)
        {
            if (!_items.TryDequeue(out item))
            {
                return false;
            }

            if (_items.Count == 0 && _peak > KeepAfterBurst)
            {
                _items.TrimExcess();
                _peak = 0;
            }

            return true;
        }
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _wait.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _wait.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _wait.OnCompleted(continuation, state, token, flags);
}
