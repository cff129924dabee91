using System.Net.Sockets;

namespace TypedMqtt.Wire;

/// <summary>
/// Acknowledges what a TCP connection read once reads have paused for <see cref="Delay"/> and nothing was written back
/// meanwhile, instead of when the kernel's delayed-ACK timer fires (40 ms on Linux). A broker with Nagle's algorithm on
/// (Mosquitto's default, <c>set_tcp_nodelay false</c>) holds its next small packet until the last one is acknowledged,
/// and a connection that only receives (a QoS 0 subscriber) sends no packet that would carry the ACK: the last
/// messages of every burst then arrived up to 40 ms late (measured: 30-40 ms at the end of each 40,000-message QoS 0 run
/// through Mosquitto, with the broker and the subscriber both idle). Acknowledging after every read instead would end
/// the kernel's batching of ACKs while a stream flows, and the broker would send many small segments: 17-18 us of client
/// CPU per QoS 0 message against 4-6, and 15 % fewer messages a second. Linux only (<c>TCP_QUICKACK</c>); elsewhere
/// there is none.
/// </summary>
internal sealed class TrailingAck : IDisposable
{
    /// <summary>How long reads must pause before what they read is acknowledged.</summary>
    public static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(1);

    private const int IpProtocolTcp = 6;
    private const int TcpQuickAck = 12;
    private const int Idle = 0;
    private const int Armed = 1;
    private const int Disposed = 2;
    private static readonly byte[] On = BitConverter.GetBytes(1);
    private static readonly byte[] Off = BitConverter.GetBytes(0);

    private readonly Socket _socket;
    private Timer? _timer;
    private int _state;
    private int _reads;
    private int _readsWhenArmed;
    private volatile bool _owed;

    private TrailingAck(Socket socket) => _socket = socket;

    /// <summary>One for <paramref name="socket"/> where the system has <c>TCP_QUICKACK</c> (Linux), else null.</summary>
    public static TrailingAck? For(Socket socket) =>
        OperatingSystem.IsLinux() && socket.ProtocolType == ProtocolType.Tcp ? new TrailingAck(socket) : null;

    /// <summary>How many ACKs it sent (for tests).</summary>
    public int Sent { get; private set; }

    /// <summary>A read returned bytes (one reader at a time calls this).</summary>
    public void Read()
    {
        _owed = true;
        Volatile.Write(ref _reads, _reads + 1);
        if (Interlocked.CompareExchange(ref _state, Armed, Idle) == Idle)
        {
            Arm();
        }
    }

    /// <summary>Bytes were written: they carry the ACK.</summary>
    public void Wrote() => _owed = false;

    public void Dispose()
    {
        Volatile.Write(ref _state, Disposed);
        Interlocked.Exchange(ref _timer, null)?.Dispose();
    }

    private void Arm()
    {
        _readsWhenArmed = Volatile.Read(ref _reads);
        if (_timer is null)
        {
            // The timer does not carry the reader's execution context; it fires once per arming.
            using (ExecutionContext.SuppressFlow())
            {
                _timer = new Timer(static state => ((TrailingAck)state!).Fire(), this, Timeout.Infinite, Timeout.Infinite);
            }

            if (Volatile.Read(ref _state) == Disposed)
            {
                Dispose();
                return;
            }
        }

        try
        {
            _timer.Change(Delay, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile: the connection is closing.
        }
    }

    private void Fire()
    {
        if (Volatile.Read(ref _reads) != _readsWhenArmed)
        {
            Arm(); // still reading: look again once they pause
            return;
        }

        if (Interlocked.CompareExchange(ref _state, Idle, Armed) != Armed)
        {
            return; // disposed
        }

        // A read that came between the look and going idle did not arm; arm for it here.
        if (Volatile.Read(ref _reads) != _readsWhenArmed && Interlocked.CompareExchange(ref _state, Armed, Idle) == Idle)
        {
            Arm();
            return;
        }

        if (_owed)
        {
            _owed = false;
            try
            {
                // On sends the ACK the kernel holds back, and leaves the mode in which it delays ACKs; off goes back to
                // it, so that while a stream flows the kernel still acknowledges in batches.
                _socket.SetRawSocketOption(IpProtocolTcp, TcpQuickAck, On);
                _socket.SetRawSocketOption(IpProtocolTcp, TcpQuickAck, Off);
                Sent++;
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                // The connection is closing.
            }
        }
    }
}
