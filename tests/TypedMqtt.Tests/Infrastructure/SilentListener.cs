using System.Net.Sockets;

namespace TypedMqtt.Tests.Infrastructure;

/// <summary>Accepts TCP connections and never sends a byte: a broker that never answers CONNECT.</summary>
public sealed class SilentListener : LoopbackServer
{
    public SilentListener() => StartAccepting();

    /// <summary>Completes when the first connection was accepted.</summary>
    public TaskCompletionSource FirstConnection { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a client closed its accepted connection (we read end of stream or a reset).</summary>
    public TaskCompletionSource ClientClosed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override void OnAccepted(Socket socket, int index)
    {
        FirstConnection.TrySetResult();
        _ = DrainAsync(socket);
    }

    // Reads (and ignores) whatever the client sends, to notice when it gives up and closes.
    private async Task DrainAsync(Socket socket)
    {
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None) > 0)
            {
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        ClientClosed.TrySetResult();
    }
}
