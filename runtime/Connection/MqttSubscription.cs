using TypedMqtt.Dispatch;

namespace TypedMqtt;

/// <summary>A live subscription. Dispose it to unsubscribe (the broker is told when no other local subscriber uses the filter).</summary>
public sealed class MqttSubscription : IAsyncDisposable
{
    private readonly Func<ValueTask> _unsubscribe;
    private int _disposed;

    internal MqttSubscription(Func<SubscriptionRegistry.FilterEntry, MessageSink, ValueTask> unsubscribe, SubscriptionRegistry.FilterEntry entry, MessageSink sink)
        : this(entry.Filter, () => unsubscribe(entry, sink))
    {
    }

    /// <summary>
    /// Creates a subscription whose disposal runs <paramref name="unsubscribe"/> once: for test doubles (the fakes of
    /// TypedMqtt.Testing) and adapters that implement a contract without a connection.
    /// </summary>
    /// <param name="filter">The filter it stands for.</param>
    /// <param name="unsubscribe">Runs on the first <see cref="DisposeAsync"/>.</param>
    public MqttSubscription(string filter, Func<ValueTask> unsubscribe)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(unsubscribe);
        Filter = filter;
        _unsubscribe = unsubscribe;
    }

    /// <summary>The filter as sent to the broker (with any <c>$share/group/</c> prefix).</summary>
    public string Filter { get; }

    /// <summary>Unsubscribes and stops the handler (a handler in progress sees its token cancelled).</summary>
    /// <returns>A task that completes when the handler has stopped.</returns>
    public ValueTask DisposeAsync() =>
        Interlocked.Exchange(ref _disposed, 1) == 0 ? _unsubscribe() : ValueTask.CompletedTask;
}
