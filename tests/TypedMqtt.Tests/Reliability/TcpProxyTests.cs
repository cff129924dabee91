using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Reliability;

/// <summary>The fault injector itself: MQTT fixed-header framing and the proxy's modes, against a raw TCP server.</summary>
[Collection(ReliabilityCollection.Name)]
public sealed class TcpProxyTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(127)]
    [InlineData(128)]
    [InlineData(16_383)]
    [InlineData(16_384)]
    [InlineData(2_097_151)]
    [InlineData(2_097_152)]
    [InlineData(MqttPacketFraming.MaximumRemainingLength)]
    public void Framing_reads_every_remaining_length_size(int remaining)
    {
        var length = MqttPacketFraming.EncodeRemainingLength(remaining);
        byte[] header = [0x32, .. length];
        Assert.True(MqttPacketFraming.TryReadHeader(header, out var packetLength));
        Assert.Equal(1 + length.Length + remaining, packetLength);
        Assert.False(MqttPacketFraming.TryReadHeader(header.AsSpan(0, header.Length - 1), out _));
        Assert.Equal(MqttPacketKind.Publish, MqttPacketFraming.KindOf(header[0]));
        Assert.Equal(1, MqttPacketFraming.QosOf(header[0]));
    }

    [Fact]
    public void Framing_refuses_a_five_byte_remaining_length()
    {
        byte[] header = [0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
        Assert.Throws<InvalidDataException>(() => MqttPacketFraming.TryReadHeader(header, out _));
    }

    [Fact]
    public async Task Proxy_passes_delays_blackholes_and_cuts()
    {
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        await using var proxy = new TcpProxy(((IPEndPoint)server.LocalEndpoint).Port);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, proxy.Port);
        using var upstream = await server.AcceptSocketAsync();

        // PINGREQ (2 bytes) and a QoS 1 PUBLISH split over two writes arrive whole.
        byte[] ping = [0xC0, 0x00];
        byte[] publish = [0x32, 0x07, 0x00, 0x01, (byte)'t', 0x00, 0x01, (byte)'h', (byte)'i'];
        await client.SendAsync(ping.Concat(publish[..4]).ToArray());
        await Task.Delay(50);
        await client.SendAsync(publish[4..]);
        var forwarded = await ReceiveAsync(upstream, ping.Length + publish.Length);
        Assert.Equal([.. ping, .. publish], forwarded);
        Assert.Equal(1, proxy.PublishesInFlight);

        // Withheld PUBACK: held until released.
        byte[] puback = [0x40, 0x02, 0x00, 0x01];
        proxy.WithholdAcknowledgements();
        await upstream.SendAsync(puback.Concat(ping).ToArray());
        var notHeld = await ReceiveAsync(client, ping.Length);
        Assert.Equal(ping, notHeld);
        Assert.Equal(1, proxy.AcknowledgementsWithheld);
        await proxy.ReleaseAcknowledgementsAsync();
        var released = await ReceiveAsync(client, puback.Length);
        Assert.Equal(puback, released);
        Assert.Equal(0, proxy.PublishesInFlight);
        Assert.Equal(1, proxy.MaxPublishesInFlight);

        // Delay.
        proxy.Delay = TimeSpan.FromMilliseconds(300);
        var clock = Stopwatch.StartNew();
        await client.SendAsync(ping);
        await ReceiveAsync(upstream, ping.Length);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(250), $"delayed only {clock.ElapsedMilliseconds} ms");
        await proxy.PassThrough();

        // Black hole: nothing arrives, nothing is closed.
        proxy.Blackhole();
        await client.SendAsync(ping);
        await upstream.SendAsync(ping);
        Assert.False(await ArrivesWithinAsync(upstream, TimeSpan.FromMilliseconds(300)));
        Assert.False(await ArrivesWithinAsync(client, TimeSpan.FromMilliseconds(300)));
        await proxy.PassThrough();

        // Cut after 3 bytes toward the server: 3 bytes arrive, then the connection is reset.
        proxy.CutAfterBytes(ProxyDirection.ClientToServer, 3);
        await client.SendAsync(publish);
        var beforeCut = await ReceiveAsync(upstream, 3);
        Assert.Equal(publish[..3], beforeCut);
        Assert.Equal(0, await ReadUntilClosedAsync(upstream));
        Assert.Equal(1, proxy.Resets);
    }

    [Fact]
    public async Task Proxy_cuts_after_n_packets()
    {
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        await using var proxy = new TcpProxy(((IPEndPoint)server.LocalEndpoint).Port);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, proxy.Port);
        using var upstream = await server.AcceptSocketAsync();
        byte[] ping = [0xD0, 0x00];
        proxy.CutAfterPackets(ProxyDirection.ServerToClient, 2);
        await upstream.SendAsync(ping.Concat(ping).Concat(ping).ToArray());
        Assert.Equal(4, await ReadUntilClosedAsync(client));
    }

    private static async Task<byte[]> ReceiveAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        var read = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (read < count)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, timeout.Token);
            Assert.True(n > 0, "closed early");
            read += n;
        }

        return buffer;
    }

    private static async Task<bool> ArrivesWithinAsync(Socket socket, TimeSpan window)
    {
        using var timeout = new CancellationTokenSource(window);
        try
        {
            return await socket.ReceiveAsync(new byte[16], SocketFlags.None, timeout.Token) > 0;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Bytes received before the connection was closed or reset.</summary>
    private static async Task<int> ReadUntilClosedAsync(Socket socket)
    {
        var total = 0;
        var buffer = new byte[256];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n == 0)
                {
                    return total;
                }

                total += n;
            }
        }
        catch (SocketException)
        {
            return total;
        }
    }
}
