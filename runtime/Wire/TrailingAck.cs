using System.Net.Sockets;

namespace TypedMqtt.Wire;

/// <summary>
/// Acknowledges what a TCP connection read once its reads have paused for a tick of a process-wide watch (every
/// <see cref="Period"/>) and nothing was written back meanwhile, instead of when the kernel's delayed-ACK timer fires
/// (40 ms on Linux). A broker with Nagle's algorithm on (Mosquitto's default, <c>set_tcp_nodelay false</c>) holds its
/// next small packet until the last one is acknowledged, and a connection that only receives (a QoS 0 subscriber) sends
/// no packet that would carry the ACK: the last messages of every burst then arrived up to 40 ms late (measured: 30-40
/// ms at the end of each 40,000-message QoS 0 run through Mosquitto, with the broker and the subscriber both idle).
/// Acknowledging after every read instead would end the kernel's batching of ACKs while a stream flows, and the broker
/// would send many small segments: 16-21 us of client CPU per QoS 0 message against 5-6, and 15 % fewer messages a
/// second. Linux only (<c>TCP_QUICKACK</c>); elsewhere, or where the system refuses the option, there is none.
/// </summary>
/// <remarks>
/// The watch holds only connections whose reads have not paused yet and runs only while there are any, so an idle
/// connection costs this object and no timer. Setting the option on sends the ACK the kernel holds back (when what
/// arrived has been read); setting it off again puts the connection back in the mode in which the kernel delays ACKs,
/// so that while a stream flows it still acknowledges in batches. A reply written meanwhile (a PUBACK, the next
/// publish) carries the ACK, and nothing more is sent.
/// </remarks>
internal sealed class TrailingAck
{
    /// <summary>How often the watch looks: reads that paused for one look are acknowledged at the next.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(1);

    private const int IpProtocolTcp = 6;
    private const int TcpQuickAck = 12;
    private const int Quiet = 0;
    private const int Watched = 1;
    private const int Ended = 2;
    private static readonly byte[] On = BitConverter.GetBytes(1);
    private static readonly byte[] Off = BitConverter.GetBytes(0);

    private static readonly long MinimumGap = System.Diagnostics.Stopwatch.Frequency / 2_000; // half a period
    private static readonly object Gate = new();
    private static readonly List<TrailingAck> Reading = []; // under Gate
    private static Timer? _watch; // under Gate; runs while Reading has any
    private static long _lastLook; // under Gate: when the watch last looked (Stopwatch ticks)
    private static bool _refused; // the system refused the option once: no more trailing ACKs in this process

    private readonly Socket _socket;
    private int _state;
    private int _reads;
    private int _readsSeen; // the watch's, under Gate
    private volatile bool _owed;

    private TrailingAck(Socket socket) => _socket = socket;

    /// <summary>One for <paramref name="socket"/> where the system has <c>TCP_QUICKACK</c> (Linux), else null.</summary>
    public static TrailingAck? For(Socket socket) =>
        OperatingSystem.IsLinux() && !Volatile.Read(ref _refused) && socket.ProtocolType == ProtocolType.Tcp ? new TrailingAck(socket) : null;

    /// <summary>A read returned bytes (one reader at a time calls this).</summary>
    public void Read()
    {
        _owed = true;
        // A full fence before the state is read: the watch either sees this read or this read sees the watch let go.
        Interlocked.Increment(ref _reads);
        if (Volatile.Read(ref _state) == Quiet && Interlocked.CompareExchange(ref _state, Watched, Quiet) == Quiet)
        {
            Watch(this);
        }
    }

    /// <summary>Bytes were written: they carry the ACK.</summary>
    public void Wrote()
    {
        if (_owed)
        {
            _owed = false;
        }
    }

    /// <summary>The connection is closing: no more ACKs (the watch drops it at its next look).</summary>
    public void End() => Volatile.Write(ref _state, Ended);

    private static void Watch(TrailingAck ack)
    {
        lock (Gate)
        {
            if (Reading.Count == 0)
            {
                // Started before the connection is listed: a timer that could not start leaves nothing watched for ever.
                if (_watch is null)
                {
                    _watch = Diagnostics.DetachedTimer.Create(static _ => Look(), Period, Period);
                }
                else
                {
                    _watch.Change(Period, Period);
                }
            }

            // The next look may come at once: it only notes the count, and reads must then pause until the one after.
            ack._readsSeen = Volatile.Read(ref ack._reads) - 1;
            Reading.Add(ack);
        }
    }

    private static void Look()
    {
        try
        {
            LookAtEach();
        }
#pragma warning disable CA1031 // A timer callback must not throw (it would end the process); an ACK is best effort.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private static void LookAtEach()
    {
        List<TrailingAck>? paused = null;
        lock (Gate)
        {
            // A late timer may run its callbacks back to back: a look so soon after the last would take a stream that
            // still flows for paused.
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            if (now - _lastLook < MinimumGap)
            {
                return;
            }

            _lastLook = now;
            for (var i = Reading.Count - 1; i >= 0; i--)
            {
                var ack = Reading[i];
                if (ack.StillReading())
                {
                    continue;
                }

                Reading[i] = Reading[^1];
                Reading.RemoveAt(Reading.Count - 1);
                (paused ??= []).Add(ack);
            }

            if (Reading.Count == 0)
            {
                _watch?.Change(Timeout.Infinite, Timeout.Infinite);
            }
        }

        if (paused is not null)
        {
            foreach (var ack in paused)
            {
                ack.Acknowledge();
            }
        }
    }

    /// <summary>Under Gate: whether reads went on since the last look (the watch keeps it), else it lets go.</summary>
    private bool StillReading()
    {
        var reads = Volatile.Read(ref _reads);
        if (reads != _readsSeen)
        {
            _readsSeen = reads;
            return true;
        }

        if (Interlocked.CompareExchange(ref _state, Quiet, Watched) != Watched)
        {
            return false; // ended
        }

        // A read that came between the look and letting go did not ask to be watched; keep watching it.
        if (Volatile.Read(ref _reads) != reads && Interlocked.CompareExchange(ref _state, Watched, Quiet) == Quiet)
        {
            _readsSeen = Volatile.Read(ref _reads);
            return true;
        }

        return false;
    }

    private void Acknowledge()
    {
        if (!_owed || Volatile.Read(ref _state) == Ended || Volatile.Read(ref _refused))
        {
            return;
        }

        _owed = false;
        try
        {
            _socket.SetRawSocketOption(IpProtocolTcp, TcpQuickAck, On);
            _socket.SetRawSocketOption(IpProtocolTcp, TcpQuickAck, Off);
        }
        catch (ObjectDisposedException)
        {
            // The connection closed meanwhile.
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ProtocolOption or SocketError.OperationNotSupported or SocketError.ProtocolNotSupported)
        {
            Volatile.Write(ref _refused, true); // a system without the option (a sandbox, WSL 1): stop trying
        }
        catch (SocketException)
        {
            // The connection failed meanwhile; its reader reports that.
        }
    }
}
