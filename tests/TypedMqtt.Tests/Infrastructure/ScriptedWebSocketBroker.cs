using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;

namespace TypedMqtt.Tests.Infrastructure;

/// <summary>
/// A fake MQTT-over-WebSocket broker for one connection: it answers the HTTP upgrade itself (so a test can see what the
/// client offered), then lets the test read the client's packets and write frames as it likes: one packet split over
/// several frames, several packets in one frame, or a text frame.
/// </summary>
public sealed class ScriptedWebSocketBroker : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<byte> _pending = [];
    private TcpClient? _client;
    private WebSocket? _socket;

    public ScriptedWebSocketBroker() => _listener.Start();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string Address => $"ws://127.0.0.1:{Port}/mqtt";

    /// <summary>The client's upgrade request: request line and headers.</summary>
    public string Request { get; private set; } = string.Empty;

    /// <summary>The message type of every data frame the client sent.</summary>
    public List<WebSocketMessageType> FrameTypes { get; } = [];

    /// <summary>Accepts the connection and completes the upgrade, agreeing to <c>mqtt</c> when the client offers it.</summary>
    public async Task AcceptAsync()
    {
        _client = await _listener.AcceptTcpClientAsync();
        var stream = _client.GetStream();
        var request = new StringBuilder();
        var one = new byte[1];
        while (!request.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one) == 0)
            {
                throw new IOException("The client closed the connection during the upgrade.");
            }

            request.Append((char)one[0]);
        }

        Request = request.ToString();
        var key = Header("Sec-WebSocket-Key") ?? throw new InvalidDataException("No Sec-WebSocket-Key in the upgrade request.");
        var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        var offered = (Header("Sec-WebSocket-Protocol") ?? string.Empty).Split(',', StringSplitOptions.TrimEntries);
        var protocol = offered.Contains("mqtt") ? "Sec-WebSocket-Protocol: mqtt\r\n" : string.Empty;
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n{protocol}\r\n"));
        _socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = true, SubProtocol = protocol.Length > 0 ? "mqtt" : null });
    }

    /// <summary>A header of the upgrade request, or null.</summary>
    public string? Header(string name) =>
        Request.Split("\r\n").Select(line => line.Split(':', 2)).Where(parts => parts.Length == 2 && parts[0].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            .Select(parts => parts[1].Trim()).FirstOrDefault();

    /// <summary>The client's next MQTT packet, whatever frames it came in (5 s at most).</summary>
    public async Task<RawPacket> ReadPacketAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var buffer = new byte[4096];
        while (true)
        {
            var bytes = _pending.ToArray();
            if (bytes.Length > 0 && MqttPacketFraming.TryReadHeader(bytes, out var length) && bytes.Length >= length)
            {
                _pending.RemoveRange(0, length);
                var headerLength = length - (int)LengthOfBody(bytes);
                return new RawPacket(bytes[0], bytes[headerLength..length]);
            }

            var result = await _socket!.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new IOException("The client closed the WebSocket.");
            }

            FrameTypes.Add(result.MessageType);
            _pending.AddRange(buffer.AsSpan(0, result.Count).ToArray());
        }
    }

    /// <summary>Each part as one binary frame (a whole message).</summary>
    public async Task SendFramesAsync(params byte[][] frames)
    {
        foreach (var frame in frames)
        {
            await _socket!.SendAsync(frame, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
        }
    }

    /// <summary>The bytes as one binary message in continuation frames of <paramref name="size"/> bytes each.</summary>
    public async Task SendFragmentedAsync(byte[] bytes, int size)
    {
        for (var offset = 0; offset < bytes.Length; offset += size)
        {
            var end = Math.Min(bytes.Length, offset + size);
            await _socket!.SendAsync(bytes.AsMemory(offset, end - offset), WebSocketMessageType.Binary, endOfMessage: end == bytes.Length, CancellationToken.None);
        }
    }

    public Task SendTextAsync(byte[] bytes) => _socket!.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    /// <summary>Whether the client closed the connection (a close frame or the end of the stream) within 5 s.</summary>
    public async Task<bool> ClientClosedAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var result = await _socket!.ReceiveAsync(buffer, timeout.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception e) when (e is WebSocketException or IOException)
        {
            return true;
        }
    }

    private static long LengthOfBody(byte[] bytes)
    {
        long remaining = 0;
        for (var i = 1; i <= 4; i++)
        {
            remaining |= (long)(bytes[i] & 0x7F) << (7 * (i - 1));
            if ((bytes[i] & 0x80) == 0)
            {
                break;
            }
        }

        return remaining;
    }

    public ValueTask DisposeAsync()
    {
        _socket?.Dispose();
        _client?.Dispose();
        _listener.Stop();
        _listener.Dispose();
        return ValueTask.CompletedTask;
    }
}
