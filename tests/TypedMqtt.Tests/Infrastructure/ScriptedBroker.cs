using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace TypedMqtt.Tests.Infrastructure;

/// <summary>One MQTT control packet as read off the wire.</summary>
public sealed record RawPacket(byte Header, byte[] Body)
{
    public int Type => Header >> 4;

    public int PacketId => Body.Length >= 2 ? (Body[0] << 8) | Body[1] : -1;
}

/// <summary>
/// A fake broker for hostile-server tests, in the manner of Mosquitto's test/lib: a loopback listener that reads the
/// client's CONNECT and then runs a script that writes crafted bytes. While the script runs, a reader answers the
/// client's routine packets (PINGREQ, SUBSCRIBE, UNSUBSCRIBE, PUBLISH QoS 1/2, PUBREL) unless the script turns that off.
/// The first connection runs <c>firstSession</c>; reconnects run <c>laterSessions</c> (by default: CONNACK, then routine answers).
/// </summary>
public sealed class ScriptedBroker : LoopbackServer
{
    private readonly Func<ScriptedSession, Task> _first;
    private readonly Func<ScriptedSession, Task> _later;
    private readonly List<ScriptedSession> _sessions = [];

    public ScriptedBroker(Func<ScriptedSession, Task> firstSession, Func<ScriptedSession, Task>? laterSessions = null)
    {
        _first = firstSession;
        _later = laterSessions ?? (s => s.ConnackAsync());
        StartAccepting();
    }

    /// <summary>TCP connections accepted so far.</summary>
    public int Connections => Accepted;

    /// <summary>An exception a script threw (a bug in the test, not in the client).</summary>
    public Exception? ScriptError { get; private set; }

    public IReadOnlyList<ScriptedSession> Sessions
    {
        get
        {
            lock (_sessions)
            {
                return [.. _sessions];
            }
        }
    }

    protected override void OnStopping()
    {
        foreach (var session in Sessions)
        {
            session.Reset();
        }
    }

    protected override void OnAccepted(Socket socket, int index)
    {
        var session = new ScriptedSession(socket, index, Stopping);
        lock (_sessions)
        {
            _sessions.Add(session);
        }

        _ = Task.Run(() => RunAsync(session, index == 1 ? _first : _later));
    }

    private async Task RunAsync(ScriptedSession session, Func<ScriptedSession, Task> script)
    {
        try
        {
            if (!await session.ReadConnectAsync())
            {
                return;
            }

            session.StartReader();
            await script(session);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The client closed the connection while the script was writing: that is one of the outcomes under test.
        }
#pragma warning disable CA1031 // A failing script is reported to the test through ScriptError.
        catch (Exception e)
#pragma warning restore CA1031
        {
            ScriptError ??= e;
        }
    }
}

/// <summary>One client connection to a <see cref="ScriptedBroker"/>.</summary>
public sealed class ScriptedSession
{
    private readonly Socket _socket;
    private readonly CancellationToken _stop;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly Channel<RawPacket> _received = Channel.CreateUnbounded<RawPacket>();
    private long _bytesSent;

    internal ScriptedSession(Socket socket, int index, CancellationToken stop)
    {
        _socket = socket;
        Index = index;
        _stop = stop;
    }

    /// <summary>1 for the first connection, 2 for the first reconnect, ...</summary>
    public int Index { get; }

    /// <summary>The protocol level from CONNECT: 4 (3.1.1) or 5.</summary>
    public int ProtocolLevel { get; private set; }

    public bool V5 => ProtocolLevel == 5;

    public bool AnswerPing { get; set; } = true;

    public bool AnswerSubscribe { get; set; } = true;

    public bool AnswerPublish { get; set; } = true;

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Completes when the client closed or reset the connection.</summary>
    public TaskCompletionSource ClientClosed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Every packet the client sent after CONNECT, in order.</summary>
    public List<RawPacket> Received { get; } = [];

    public Task ConnackAsync() => SendAsync(V5 ? [0x20, 0x03, 0x00, 0x00, 0x00] : [0x20, 0x02, 0x00, 0x00]);

    public async Task SendAsync(params byte[] bytes)
    {
        await _writeGate.WaitAsync(_stop);
        try
        {
            await _socket.SendAsync(bytes, SocketFlags.None, _stop);
            Interlocked.Add(ref _bytesSent, bytes.Length);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Waits for the next packet of one of these types from the client (others are skipped), or throws after 5 s.</summary>
    public async Task<RawPacket> WaitForAsync(params int[] types)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        while (true)
        {
            var packet = await _received.Reader.ReadAsync(timeout.Token);
            if (types.Contains(packet.Type))
            {
                return packet;
            }
        }
    }

    /// <summary>Writes chunks as fast as the client reads them, until it closes, <paramref name="duration"/> passes or <paramref name="maxBytes"/> are sent.</summary>
    public async Task StreamAsync(byte[] chunk, TimeSpan duration, long maxBytes)
    {
        var until = Environment.TickCount64 + (long)duration.TotalMilliseconds;
        while (Environment.TickCount64 < until && BytesSent < maxBytes && !ClientClosed.Task.IsCompleted)
        {
            await SendAsync(chunk);
        }
    }

    /// <summary>Closes the connection with FIN.</summary>
    public void Close()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
            _socket.Close();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Closes the connection with RST.</summary>
    public void Reset()
    {
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
            _socket.Close();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    internal async Task<bool> ReadConnectAsync()
    {
        var connect = await ReadPacketAsync();
        if (connect is null || connect.Type != 1 || connect.Body.Length < 7)
        {
            return false;
        }

        ProtocolLevel = connect.Body[6];
        Connect = connect;
        return true;
    }

    /// <summary>The client's CONNECT.</summary>
    public RawPacket? Connect { get; private set; }

    internal void StartReader() => _ = Task.Run(ReadLoopAsync);

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await ReadPacketAsync() is { } packet)
            {
                lock (Received)
                {
                    Received.Add(packet);
                }

                // Answer first: a script that waits for our SUBSCRIBE then sends its hostile bytes after the SUBACK.
                await AnswerAsync(packet);
                _received.Writer.TryWrite(packet);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidDataException)
        {
        }

        ClientClosed.TrySetResult();
    }

    private async Task AnswerAsync(RawPacket packet)
    {
        var id = packet.Body.Length >= 2 ? new[] { packet.Body[0], packet.Body[1] } : [0, 0];
        switch (packet.Type)
        {
            case 12 when AnswerPing:
                await SendAsync(0xD0, 0x00);
                break;
            case 8 when AnswerSubscribe:
                var codes = SubscribeOptions(packet.Body).Select(o => (byte)(o & 0x03)).ToArray();
                await SendAsync(Wire.Packet(0x90, id, V5 ? [0x00] : [], codes));
                break;
            case 10 when AnswerSubscribe:
                var count = V5 ? Math.Max(1, CountUnsubscribeFilters(packet.Body)) : 0;
                await SendAsync(Wire.Packet(0xB0, id, V5 ? [0x00] : [], new byte[count]));
                break;
            case 3 when AnswerPublish && ((packet.Header >> 1) & 0x03) is 1 or 2:
                var qos = (packet.Header >> 1) & 0x03;
                var topicLength = (packet.Body[0] << 8) | packet.Body[1];
                var packetId = packet.Body.AsSpan(2 + topicLength, 2).ToArray();
                await SendAsync(Wire.Packet(qos == 1 ? (byte)0x40 : (byte)0x50, packetId));
                break;
            case 6 when AnswerPublish:
                await SendAsync(Wire.Packet(0x70, id));
                break;
        }
    }

    private int PropertiesEnd(byte[] body, int offset)
    {
        if (!V5)
        {
            return offset;
        }

        var (length, size) = Wire.ReadVarint(body, offset);
        return offset + size + length;
    }

    private List<byte> SubscribeOptions(byte[] body)
    {
        var options = new List<byte>();
        var i = PropertiesEnd(body, 2);
        while (i + 2 < body.Length)
        {
            var length = (body[i] << 8) | body[i + 1];
            i += 2 + length;
            options.Add(body[i]);
            i++;
        }

        return options;
    }

    private int CountUnsubscribeFilters(byte[] body)
    {
        var count = 0;
        var i = PropertiesEnd(body, 2);
        while (i + 1 < body.Length)
        {
            i += 2 + ((body[i] << 8) | body[i + 1]);
            count++;
        }

        return count;
    }

    private async Task<RawPacket?> ReadPacketAsync()
    {
        var header = new byte[1];
        if (await _socket.ReceiveAsync(header, SocketFlags.None, _stop) == 0)
        {
            return null;
        }

        var length = 0;
        var multiplier = 1;
        for (var i = 0; ; i++)
        {
            if (i == 4)
            {
                throw new InvalidDataException("The client sent a remaining length longer than 4 bytes.");
            }

            var b = new byte[1];
            if (await _socket.ReceiveAsync(b, SocketFlags.None, _stop) == 0)
            {
                return null;
            }

            length += (b[0] & 0x7F) * multiplier;
            multiplier *= 128;
            if ((b[0] & 0x80) == 0)
            {
                break;
            }
        }

        var body = new byte[length];
        var read = 0;
        while (read < length)
        {
            var n = await _socket.ReceiveAsync(body.AsMemory(read), SocketFlags.None, _stop);
            if (n == 0)
            {
                return null;
            }

            read += n;
        }

        return new RawPacket(header[0], body);
    }
}

/// <summary>Builds MQTT byte sequences, well-formed or deliberately not.</summary>
public static class Wire
{
    public static byte[] Varint(int value)
    {
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(value % 128);
            value /= 128;
            if (value > 0)
            {
                b |= 0x80;
            }

            bytes.Add(b);
        }
        while (value > 0);
        return [.. bytes];
    }

    public static (int Value, int Size) ReadVarint(byte[] bytes, int offset)
    {
        var value = 0;
        var multiplier = 1;
        var i = 0;
        while (true)
        {
            var b = bytes[offset + i];
            value += (b & 0x7F) * multiplier;
            multiplier *= 128;
            i++;
            if ((b & 0x80) == 0 || i == 4)
            {
                return (value, i);
            }
        }
    }

    /// <summary>A fixed header byte, the remaining length of the parts, and the parts.</summary>
    public static byte[] Packet(byte header, params byte[][] parts)
    {
        var body = parts.SelectMany(p => p).ToArray();
        return [header, .. Varint(body.Length), .. body];
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    public static byte[] U16(int value) => [(byte)(value >> 8), (byte)value];

    /// <summary>A length-prefixed string of exactly these bytes (which need not be valid UTF-8).</summary>
    public static byte[] RawString(params byte[] bytes) => [.. U16(bytes.Length), .. bytes];

    public static byte[] Str(string value) => RawString(Encoding.UTF8.GetBytes(value));

    /// <summary>An MQTT 5 property block: the length, then the properties.</summary>
    public static byte[] Props(params byte[][] properties)
    {
        var all = Concat(properties);
        return [.. Varint(all.Length), .. all];
    }

    public static byte[] Connack(byte reason = 0x00, byte[]? properties = null, byte flags = 0x00) =>
        Packet(0x20, [flags, reason], properties ?? [0x00]);

    /// <summary>A PUBLISH; <paramref name="topic"/> is the whole length-prefixed topic field.</summary>
    public static byte[] Publish(bool v5, byte[] topic, int qos = 0, int packetId = 1, byte[]? properties = null, byte[]? payload = null, byte headerFlags = 0) =>
        Packet(
            (byte)(0x30 | (qos << 1) | headerFlags),
            topic,
            qos > 0 ? U16(packetId) : [],
            v5 ? properties ?? [0x00] : [],
            payload ?? "payload"u8.ToArray());
}
