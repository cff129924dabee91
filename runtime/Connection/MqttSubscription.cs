using TypedMqtt.Dispatch;

namespace TypedMqtt;

/// <summary>A live subscription. Dispose it to unsubscribe (the broker is told when no other local subscriber uses the filter).</summary>
public sealed class MqttSubscription : IAsyncDisposable
{
    private readonly Func<SubscriptionRegistry.FilterEntry, MessageSink, ValueTask> _unsubscribe;
    private readonly SubscriptionRegistry.FilterEntry _entry;
    private readonly MessageSink _sink;
    private int _disposed;

    internal MqttSubscription(Func<SubscriptionRegistry.FilterEntry, MessageSink, ValueTask> unsubscribe, SubscriptionRegistry.FilterEntry entry, MessageSink sink)
    {
        _unsubscribe = unsubscribe;
        _entry = entry;
        _sink = sink;
    }

    /// <summary>The filter as sent to the broker (with any <c>$share/group/</c> prefix).</summary>
    public string Filter => _entry.Filter;

    /// <summary>Unsubscribes and stops the handler (a handler in progress sees its token cancelled).</summary>
    /// <returns>A task that completes when the handler has stopped.</returns>
    public ValueTask DisposeAsync() =>
        Interlocked.Exchange(ref _disposed, 1) == 0 ? _unsubscribe(_entry, _sink) : ValueTask.CompletedTask;
}
