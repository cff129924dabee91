namespace TypedMqtt;

/// <summary>
/// A running responder: it answers the requests that match its filter. Dispose it to stop: handlers still running see
/// their token cancelled, and requests not yet answered get an error reply, so their requesters fail at once instead of
/// waiting for their timeout.
/// </summary>
public sealed class MqttResponder : IAsyncDisposable
{
    private readonly Requests.ResponderCore _core;
    private int _disposed;

    internal MqttResponder(Requests.ResponderCore core) => _core = core;

    /// <summary>The filter as sent to the broker (with any <c>$share/group/</c> prefix).</summary>
    public string Filter => _core.Filter;

    /// <summary>Requests answered with a reply.</summary>
    public long Answered => _core.Answered;

    /// <summary>Requests answered with an error reply: the handler threw, or the request could not be decoded.</summary>
    public long Failed => _core.Failed;

    /// <summary>Unsubscribes and stops the handlers.</summary>
    /// <returns>A task that completes when every handler has stopped (or 10 s passed).</returns>
    public ValueTask DisposeAsync() => Interlocked.Exchange(ref _disposed, 1) == 0 ? _core.StopAsync() : ValueTask.CompletedTask;
}
