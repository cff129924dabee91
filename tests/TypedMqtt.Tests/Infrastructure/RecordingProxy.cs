using System.Net;
using System.Net.Sockets;

namespace TypedMqtt.Tests.Infrastructure;

/// <summary>
/// A loopback TCP proxy that records every byte each client sent toward the server (per connection), so a test can
/// show what left the process. <see cref="Cut"/> resets every connection (RST) to force a reconnect.
/// </summary>
public sealed class RecordingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly List<Socket> _sockets = [];
    private readonly List<MemoryStream> _clientBytes = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;

    public RecordingProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    /// <summary>The bytes each accepted client connection sent toward the server, in accept order.</summary>
    public IReadOnlyList<byte[]> ClientToServer
    {
        get
        {
            lock (_clientBytes)
            {
                return _clientBytes.Select(s =>
                {
                    lock (s)
                    {
                        return s.ToArray();
                    }
                }).ToArray();
            }
        }
    }

    /// <summary>Resets every proxied connection on both sides; new connections are still accepted.</summary>
    public void Cut()
    {
        Socket[] sockets;
        lock (_sockets)
        {
            sockets = [.. _sockets];
            _sockets.Clear();
        }

        foreach (var socket in sockets)
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        try
        {
            await _acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
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

            var record = new MemoryStream();
            lock (_clientBytes)
            {
                _clientBytes.Add(record);
            }

            var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await upstream.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                client.Dispose();
                upstream.Dispose();
                continue;
            }

            lock (_sockets)
            {
                _sockets.Add(client);
                _sockets.Add(upstream);
            }

            _ = PumpAsync(client, upstream, record);
            _ = PumpAsync(upstream, client, null);
        }
    }

    private static async Task PumpAsync(Socket from, Socket to, MemoryStream? record)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                if (record is not null)
                {
                    lock (record)
                    {
                        record.Write(buffer, 0, read);
                    }
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Cut, or the other side went away.
        }
    }
}
