namespace TypedMqtt.Link;

/// <summary>
/// A link's own reading thread (<see cref="MqttConnectionOptions.DedicatedReadingThread"/>), and the watch that keeps
/// it from stalling the link. The thread reads with blocking calls and handles each packet; when nothing more is
/// buffered, it also runs what the packet left to it (a delivery, or the continuation of a publish an acknowledgement
/// completed) before it reads again: each packet then wakes one thread, as in libmosquitto, instead of the socket
/// engine's thread and a worker. While it handles a packet it does not read (its handling may write, and a write may
/// block while the peer does not read), so everything between two reads is watched: a run still going on at two consecutive ticks of a
/// process-wide timer (every <see cref="Period"/>, so after 50-100 ms) hands reading to a new thread, and the old one
/// ends when its code returns. A handler that blocks on something only the reader brings (its own QoS 1 publish) is
/// therefore held up for at most about 100 ms, not for ever.
/// </summary>
internal sealed class ReadingThread
{
    /// <summary>How often the watch looks at every reading thread that runs application code.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(50);

    private const long Reading = 0;
    private const long TakenOver = -1;

    private static readonly object Gate = new();
    private static readonly HashSet<ReadingThread> Watched = [];
    private static Timer? _timer;

    private readonly ThreadStart _loop;
    private readonly string _name;

    // Reading (0), the number of the run of application code in progress (> 0), or TakenOver. Only the thread that
    // reads changes it from Reading; the watch changes a run's number to TakenOver, the thread back to Reading.
    private long _state;
    private long _runs;
    private long _lastSeen; // the watch's: the run it saw at its last tick
    private int _takeovers;

    /// <param name="loop">The reading loop, run on the first thread and on each thread that takes over.</param>
    /// <param name="name">The threads' name.</param>
    public ReadingThread(ThreadStart loop, string name)
    {
        _loop = loop;
        _name = name;
    }

    /// <summary>How many times a new thread took over reading from one that ran application code too long.</summary>
    public int Takeovers => Volatile.Read(ref _takeovers);

    private volatile bool _ended;

    /// <summary>Whether reading has ended for good (<see cref="End"/>).</summary>
    public bool HasEnded => _ended;

    /// <summary>Starts the first thread and the watch.</summary>
    public void Start()
    {
        lock (Gate)
        {
            Watched.Add(this);
            if (_timer is null)
            {
                // Neither the timer nor the threads carry the caller's execution context (its Activity, its AsyncLocals).
                _timer = Diagnostics.DetachedTimer.Create(static _ => Tick(), Period, Period);
            }
        }

        StartThread();
    }

    /// <summary>Reading has ended for good (the link ended): no longer watched.</summary>
    public void End()
    {
        _ended = true;
        lock (Gate)
        {
            Watched.Remove(this);
            if (Watched.Count == 0)
            {
                _timer?.Dispose();
                _timer = null;
            }
        }
    }

    /// <summary>The reading thread is about to run application code; returns the run's number for <see cref="Leave"/>.</summary>
    public long Enter()
    {
        var run = ++_runs;
        Volatile.Write(ref _state, run);
        return run;
    }

    /// <summary>The code returned; false when another thread reads now (this one must then end without reading).</summary>
    public bool Leave(long run) => Interlocked.CompareExchange(ref _state, Reading, run) == run;

    private void StartThread() => new Thread(_loop) { IsBackground = true, Name = _name }.UnsafeStart();

    private static void Tick()
    {
        ReadingThread[] watched;
        lock (Gate)
        {
            watched = [.. Watched];
        }

        foreach (var reader in watched)
        {
            reader.Look();
        }
    }

    /// <summary>The watch's look at one thread: the same run of application code as at the last tick hands reading over.</summary>
    private void Look()
    {
        var state = Volatile.Read(ref _state);
        if (state > 0 && state == _lastSeen && Interlocked.CompareExchange(ref _state, TakenOver, state) == state)
        {
            // The new thread sees what the old one read: the old one wrote it before its Enter, which this read saw,
            // and starting a thread is a full fence.
            try
            {
                StartThread();
                Interlocked.Increment(ref _takeovers);
            }
#pragma warning disable CA1031 // No thread to be had (out of memory): the old thread keeps reading once its run returns.
            catch (Exception)
#pragma warning restore CA1031
            {
                Interlocked.CompareExchange(ref _state, state, TakenOver);
            }
        }

        _lastSeen = state;
    }
}
