using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace TypedMqtt.Tests.Infrastructure;

/// <summary>
/// A fake broker that records every byte a client sends. Over plain TCP it answers the first packet with an MQTT 5
/// CONNACK; in WebSocket mode it completes the HTTP upgrade, unmasks the client's frames (recording the MQTT bytes
/// inside them, as any on-path observer could) and answers with a CONNACK frame.
/// </summary>
public sealed class RecordingListener : LoopbackServer
{
    private readonly bool _webSocket;
    private readonly MemoryStream _received = new();

    public RecordingListener(bool webSocket)
    {
        _webSocket = webSocket;
        StartAccepting();
    }

    /// <summary>Everything received, with WebSocket frames unmasked to the MQTT bytes they carry.</summary>
    public byte[] Received
    {
        get
        {
            lock (_received)
            {
                return _received.ToArray();
            }
        }
    }

    protected override void OnAccepted(Socket socket, int index) => _ = Task.Run(() => ServeAsync(socket));

    private async Task ServeAsync(Socket socket)
    {
        try
        {
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            if (_webSocket)
            {
                await ServeWebSocketAsync(stream);
            }
            else
            {
                var buffer = new byte[4096];
                var answered = false;
                int read;
                while ((read = await stream.ReadAsync(buffer, Stopping)) > 0)
                {
                    Record(buffer.AsSpan(0, read));
                    if (!answered)
                    {
                        answered = true;
                        await stream.WriteAsync(Connack, Stopping);
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The client went away or the listener stopped.
        }
    }

    private static readonly byte[] Connack = [0x20, 0x03, 0x00, 0x00, 0x00];

    private async Task ServeWebSocketAsync(NetworkStream stream)
    {
        // The HTTP upgrade request: read up to the blank line.
        var request = new StringBuilder();
        var one = new byte[1];
        while (!request.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one, Stopping) == 0)
            {
                return;
            }

            request.Append((char)one[0]);
        }

        Record(Encoding.ASCII.GetBytes(request.ToString()));
        var key = request.ToString().Split("\r\n")
            .First(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))["Sec-WebSocket-Key:".Length..].Trim();
        var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        var response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                       $"Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(response), Stopping);

        var answered = false;
        while (true)
        {
            var header = new byte[2];
            await stream.ReadExactlyAsync(header, Stopping);
            long length = header[1] & 0x7F;
            if (length == 126)
            {
                var extended = new byte[2];
                await stream.ReadExactlyAsync(extended, Stopping);
                length = (extended[0] << 8) | extended[1];
            }
            else if (length == 127)
            {
                var extended = new byte[8];
                await stream.ReadExactlyAsync(extended, Stopping);
                length = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(extended);
            }

            var mask = new byte[4];
            if ((header[1] & 0x80) != 0)
            {
                await stream.ReadExactlyAsync(mask, Stopping);
            }

            var payload = new byte[length];
            await stream.ReadExactlyAsync(payload, Stopping);
            for (var i = 0; i < payload.Length; i++)
            {
                payload[i] ^= mask[i % 4];
            }

            if ((header[0] & 0x0F) == 0x08)
            {
                // Answer the close handshake, so the client does not wait for it.
                await stream.WriteAsync(new byte[] { 0x88, 0x00 }, Stopping);
                return;
            }

            Record(payload);
            if (!answered)
            {
                answered = true;
                await stream.WriteAsync(new byte[] { 0x82, (byte)Connack.Length }.Concat(Connack).ToArray(), Stopping);
            }
        }
    }

    private void Record(ReadOnlySpan<byte> bytes)
    {
        lock (_received)
        {
            _received.Write(bytes);
        }
    }
}
