namespace TypedMqtt.Link;

/// <summary>
/// The link new work may use: set once a link is connected and its session resumed (resends written), cleared when it
/// is lost. Work declared while there is none waits for the next one.
/// </summary>
internal sealed class LinkHolder
{
    // The disposed object as the application sees it.
    private const string ObjectName = "MqttConnection";

    private readonly object _gate = new();
    private MqttLink? _ready;
    private TaskCompletionSource<MqttLink> _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _closed;

    /// <summary>The ready link, or null.</summary>
    public MqttLink? Ready => Volatile.Read(ref _ready);

    public void SetReady(MqttLink link)
    {
        lock (_gate)
        {
            if (_closed || link.IsLost)
            {
                return;
            }

            Volatile.Write(ref _ready, link);
            _next.TrySetResult(link);
        }
    }

    /// <summary>Forgets <paramref name="link"/> if it is the ready one; later waiters wait for the next.</summary>
    public void Clear(MqttLink link)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(_ready, link))
            {
                return;
            }

            Volatile.Write(ref _ready, null);
            _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Waits for a ready link.</summary>
    public Task<MqttLink> WaitAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Volatile.Read(ref _ready) is { } link ? Task.FromResult(link) : _next.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>No link will come again: waiters fail.</summary>
    public void Close(string reason)
    {
        lock (_gate)
        {
            _closed = true;
            Volatile.Write(ref _ready, null);
            if (!_next.TrySetException(new ObjectDisposedException(ObjectName, reason)))
            {
                _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
                _next.TrySetException(new ObjectDisposedException(ObjectName, reason));
            }
        }
    }
}
