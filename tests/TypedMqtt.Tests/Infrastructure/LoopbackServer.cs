using System.Net;
using System.Net.Sockets;

namespace TypedMqtt.Tests.Infrastructure;

/// <summary>
/// A TCP listener on a free loopback port with an accept loop; the fake servers of the tests (silent, recording,
/// scripted) only say what to do with each accepted connection. Disposing stops accepting and closes every socket.
/// </summary>
public abstract class LoopbackServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly List<Socket> _sockets = [];
    private readonly CancellationTokenSource _stop = new();
    private Task _acceptLoop = Task.CompletedTask;
    private int _accepted;

    protected LoopbackServer()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
    }

    public int Port { get; }

    /// <summary>TCP connections accepted so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Cancelled when the server is disposed.</summary>
    protected CancellationToken Stopping => _stop.Token;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        OnStopping();
        lock (_sockets)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }

        try
        {
            await _acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Starts accepting; call it at the end of the derived constructor, once its fields are set.</summary>
    protected void StartAccepting() => _acceptLoop = Task.Run(AcceptLoopAsync);

    /// <summary>Handles one accepted connection (the first has index 1). Must not block: start a task for long work.</summary>
    protected abstract void OnAccepted(Socket socket, int index);

    /// <summary>Runs when disposal starts, before the sockets are closed.</summary>
    protected virtual void OnStopping()
    {
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var index = Interlocked.Increment(ref _accepted);
            lock (_sockets)
            {
                _sockets.Add(socket);
            }

            OnAccepted(socket, index);
        }
    }
}
