using System.Net;
using System.Net.Sockets;

namespace TypedMqtt.Tests.Infrastructure;

/// <summary>Which way bytes travel through a <see cref="TcpProxy"/>.</summary>
public enum ProxyDirection
{
    ClientToServer,
    ServerToClient,
}

/// <summary>
/// A loopback TCP proxy in front of a broker, for fault injection. It forwards whole MQTT packets (framed by their
/// fixed header) and can, at any time and for every connection:
/// pass bytes through (<see cref="PassThrough"/>), delay each chunk (<see cref="Delay"/>), black-hole both directions
/// while keeping the sockets open (<see cref="Blackhole"/>), reset both sides (<see cref="Reset"/>, RST, no FIN, no
/// DISCONNECT), reset after N more bytes or packets in one direction (<see cref="CutAfterBytes"/>,
/// <see cref="CutAfterPackets"/>), and withhold the broker's PUBACK/PUBREC (<see cref="WithholdAcknowledgements"/>)
/// while counting the client's QoS 1/2 PUBLISH packets in flight.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly List<Link> _links = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private readonly long[] _bytesUntilCut = [-1, -1];
    private readonly long[] _packetsUntilCut = [-1, -1];
    private int _accepted;
    private int _delayMs;
    private volatile bool _blackhole;
    private volatile bool _withhold;
    private int _maxInFlight;
    private long _publishesForwarded;
    private long _publishesToClient;
    private long _acknowledgementsWithheld;
    private int _resets;

    public TcpProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    public string Address => $"mqtt://127.0.0.1:{Port}";

    /// <summary>How many client connections were accepted so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>How many connections were reset by <see cref="Reset"/> or a cut so far (each reset counts once).</summary>
    public int Resets => Volatile.Read(ref _resets);

    /// <summary>Delay before each chunk is forwarded, in both directions. Zero passes at once.</summary>
    public TimeSpan Delay
    {
        get => TimeSpan.FromMilliseconds(Volatile.Read(ref _delayMs));
        set => Volatile.Write(ref _delayMs, (int)value.TotalMilliseconds);
    }

    public bool IsBlackholed => _blackhole;

    /// <summary>QoS 1/2 PUBLISH packets the client sent and the broker's PUBACK/PUBCOMP has not reached it for, over live connections.</summary>
    public int PublishesInFlight
    {
        get
        {
            lock (_links)
            {
                return _links.Sum(l => Volatile.Read(ref l.InFlight));
            }
        }
    }

    /// <summary>The most QoS 1/2 PUBLISH packets in flight on one connection at any moment.</summary>
    public int MaxPublishesInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>QoS 1/2 PUBLISH packets forwarded from the client to the broker.</summary>
    public long PublishesForwarded => Interlocked.Read(ref _publishesForwarded);

    /// <summary>PUBLISH packets (any QoS) forwarded from the broker to the client.</summary>
    public long PublishesToClient => Interlocked.Read(ref _publishesToClient);

    /// <summary>PUBACK/PUBREC packets held back from the client so far.</summary>
    public long AcknowledgementsWithheld => Interlocked.Read(ref _acknowledgementsWithheld);

    /// <summary>Back to plain forwarding: no delay, no black hole, no pending cut; withheld acknowledgements are released.</summary>
    /// <returns>A task that completes when the held acknowledgements were forwarded.</returns>
    public Task PassThrough()
    {
        Delay = TimeSpan.Zero;
        _blackhole = false;
        for (var i = 0; i < 2; i++)
        {
            Interlocked.Exchange(ref _bytesUntilCut[i], -1);
            Interlocked.Exchange(ref _packetsUntilCut[i], -1);
        }

        return ReleaseAcknowledgementsAsync();
    }

    /// <summary>Stops forwarding in both directions (what arrives is discarded) but keeps every socket open: a half-open connection.</summary>
    public void Blackhole() => _blackhole = true;

    /// <summary>Resets every proxied connection on both sides (RST); new connections are still accepted.</summary>
    public void Cut() => Reset();

    /// <summary>Resets every proxied connection on both sides (RST); new connections are still accepted.</summary>
    public void Reset()
    {
        Link[] links;
        lock (_links)
        {
            links = [.. _links];
            _links.Clear();
        }

        foreach (var link in links)
        {
            ResetLink(link);
        }
    }

    /// <summary>Resets all connections once <paramref name="bytes"/> more bytes went in <paramref name="direction"/> (the last chunk is split).</summary>
    /// <param name="direction">Which way to count.</param>
    /// <param name="bytes">Bytes still forwarded before the reset.</param>
    public void CutAfterBytes(ProxyDirection direction, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        Interlocked.Exchange(ref _bytesUntilCut[(int)direction], bytes);
    }

    /// <summary>Resets all connections once <paramref name="packets"/> more MQTT packets were forwarded in <paramref name="direction"/>.</summary>
    /// <param name="direction">Which way to count.</param>
    /// <param name="packets">Packets still forwarded before the reset (at least 1).</param>
    public void CutAfterPackets(ProxyDirection direction, int packets)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(packets, 1);
        Interlocked.Exchange(ref _packetsUntilCut[(int)direction], packets);
    }

    /// <summary>From now on PUBACK and PUBREC from the broker are held back (the client sees no acknowledgement).</summary>
    public void WithholdAcknowledgements() => _withhold = true;

    /// <summary>Stops withholding and forwards the held acknowledgements, in order, on the connections still open.</summary>
    /// <returns>A task that completes when they were sent.</returns>
    public async Task ReleaseAcknowledgementsAsync()
    {
        _withhold = false;
        Link[] links;
        lock (_links)
        {
            links = [.. _links];
        }

        foreach (var link in links)
        {
            await link.ToClientGate.WaitAsync();
            try
            {
                while (link.Held.TryDequeue(out var packet))
                {
                    if (MqttPacketFraming.KindOf(packet[0]) == MqttPacketKind.PubAck)
                    {
                        Interlocked.Decrement(ref link.InFlight);
                    }

                    await link.Client.SendAsync(packet, SocketFlags.None);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // That connection is gone.
            }
            finally
            {
                link.ToClientGate.Release();
            }
        }
    }

    /// <summary>Zeroes the in-flight maximum and the counters.</summary>
    public void ResetCounters()
    {
        Volatile.Write(ref _maxInFlight, 0);
        Interlocked.Exchange(ref _publishesForwarded, 0);
        Interlocked.Exchange(ref _acknowledgementsWithheld, 0);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Reset();
        try
        {
            await _acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private void ResetLink(Link link)
    {
        if (Interlocked.Exchange(ref link.ResetDone, 1) != 0)
        {
            return;
        }

        Interlocked.Increment(ref _resets);
        foreach (var socket in new[] { link.Client, link.Server })
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
            }
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await upstream.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                // Nothing listens upstream: refuse the client the same way (RST).
                client.LingerState = new LingerOption(true, 0);
                client.Dispose();
                upstream.Dispose();
                continue;
            }

            client.NoDelay = true;
            upstream.NoDelay = true;
            var link = new Link(client, upstream);
            lock (_links)
            {
                _links.Add(link);
            }

            var toServer = PumpAsync(link, ProxyDirection.ClientToServer);
            var toClient = PumpAsync(link, ProxyDirection.ServerToClient);
            _ = Task.WhenAll(toServer, toClient).ContinueWith(
                _ =>
                {
                    lock (_links)
                    {
                        _links.Remove(link);
                    }

                    link.Client.Dispose();
                    link.Server.Dispose();
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    private async Task PumpAsync(Link link, ProxyDirection direction)
    {
        var from = direction == ProxyDirection.ClientToServer ? link.Client : link.Server;
        var to = direction == ProxyDirection.ClientToServer ? link.Server : link.Client;
        var buffer = new byte[64 * 1024];
        var pending = new byte[64 * 1024];
        var count = 0;
        var framed = true;
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                {
                    if (!_blackhole)
                    {
                        to.Shutdown(SocketShutdown.Send); // in a black hole the FIN is lost too
                    }

                    return;
                }

                var delay = Volatile.Read(ref _delayMs);
                if (delay > 0)
                {
                    await Task.Delay(delay);
                }

                if (_blackhole)
                {
                    count = 0; // dropped on the floor, like a dead route
                    continue;
                }

                if (count + read > pending.Length)
                {
                    Array.Resize(ref pending, Math.Max(pending.Length * 2, count + read));
                }

                buffer.AsSpan(0, read).CopyTo(pending.AsSpan(count));
                count += read;

                var offset = 0;
                var forwardFrom = 0;
                while (framed)
                {
                    int length;
                    try
                    {
                        if (!MqttPacketFraming.TryReadHeader(pending.AsSpan(offset, count - offset), out length) || count - offset < length)
                        {
                            break;
                        }
                    }
                    catch (InvalidDataException)
                    {
                        framed = false; // not MQTT after all: plain byte forwarding from here on
                        break;
                    }

                    var first = pending[offset];
                    var kind = MqttPacketFraming.KindOf(first);
                    if (direction == ProxyDirection.ServerToClient && _withhold && kind is MqttPacketKind.PubAck or MqttPacketKind.PubRec)
                    {
                        if (!await ForwardAsync(link, direction, pending.AsMemory(forwardFrom, offset - forwardFrom)))
                        {
                            return;
                        }

                        link.Held.Enqueue(pending.AsSpan(offset, length).ToArray());
                        Interlocked.Increment(ref _acknowledgementsWithheld);
                        offset += length;
                        forwardFrom = offset;
                        continue;
                    }

                    Account(link, direction, first, kind);
                    offset += length;
                    if (Interlocked.Read(ref _packetsUntilCut[(int)direction]) > 0 && Interlocked.Decrement(ref _packetsUntilCut[(int)direction]) == 0)
                    {
                        Interlocked.Exchange(ref _packetsUntilCut[(int)direction], -1);
                        await ForwardAsync(link, direction, pending.AsMemory(forwardFrom, offset - forwardFrom));
                        Reset();
                        return;
                    }
                }

                var end = framed ? offset : count;
                if (!await ForwardAsync(link, direction, pending.AsMemory(forwardFrom, end - forwardFrom)))
                {
                    return;
                }

                pending.AsSpan(end, count - end).CopyTo(pending);
                count -= end;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Reset, or the other side went away: take the whole link down, as a broken route would (unless the
            // route is a black hole, which swallows the RST as well).
            if (!_blackhole)
            {
                ResetLink(link);
            }
        }
    }

    private void Account(Link link, ProxyDirection direction, byte first, MqttPacketKind kind)
    {
        if (direction == ProxyDirection.ServerToClient && kind == MqttPacketKind.Publish)
        {
            Interlocked.Increment(ref _publishesToClient);
        }

        if (direction == ProxyDirection.ClientToServer && kind == MqttPacketKind.Publish && MqttPacketFraming.QosOf(first) > 0)
        {
            Interlocked.Increment(ref _publishesForwarded);
            var now = Interlocked.Increment(ref link.InFlight);
            int seen;
            while (now > (seen = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen)
            {
            }
        }
        else if (direction == ProxyDirection.ServerToClient && kind is MqttPacketKind.PubAck or MqttPacketKind.PubComp)
        {
            Interlocked.Decrement(ref link.InFlight);
        }
    }

    /// <summary>Sends a run of whole packets, honouring a pending byte cut. False when the link was reset.</summary>
    private async Task<bool> ForwardAsync(Link link, ProxyDirection direction, ReadOnlyMemory<byte> data)
    {
        if (data.IsEmpty)
        {
            return true;
        }

        var cutAt = Interlocked.Read(ref _bytesUntilCut[(int)direction]);
        var cut = false;
        if (cutAt >= 0)
        {
            if (cutAt <= data.Length)
            {
                Interlocked.Exchange(ref _bytesUntilCut[(int)direction], -1);
                data = data[..(int)cutAt];
                cut = true;
            }
            else
            {
                Interlocked.Add(ref _bytesUntilCut[(int)direction], -data.Length);
            }
        }

        var gate = direction == ProxyDirection.ServerToClient ? link.ToClientGate : null;
        var to = direction == ProxyDirection.ClientToServer ? link.Server : link.Client;
        if (gate is not null)
        {
            await gate.WaitAsync();
        }

        try
        {
            while (!data.IsEmpty)
            {
                var sent = await to.SendAsync(data, SocketFlags.None);
                data = data[sent..];
            }
        }
        finally
        {
            gate?.Release();
        }

        if (cut)
        {
            Reset();
            return false;
        }

        return true;
    }

    private sealed class Link(Socket client, Socket server)
    {
        public readonly Socket Client = client;
        public readonly Socket Server = server;

        // Serialises sends to the client between the pump and a release of held acknowledgements.
        public readonly SemaphoreSlim ToClientGate = new(1, 1);
        public readonly System.Collections.Concurrent.ConcurrentQueue<byte[]> Held = new();
        public int InFlight;
        public int ResetDone;
    }
}
