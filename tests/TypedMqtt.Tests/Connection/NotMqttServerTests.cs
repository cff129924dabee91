using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TypedMqtt.Tests.Connection;

/// <summary>Pointed at something that is not an MQTT broker, the connect says so and quotes what answered.</summary>
public sealed class NotMqttServerTests
{
    [Fact]
    public async Task An_HTTP_server_is_reported_as_not_speaking_MQTT()
    {
        var error = await ConnectToAsync(Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
        Assert.Equal(MqttConnectFailure.ProtocolViolation, error.Failure);
        Assert.Contains("does not speak MQTT: it answered CONNECT with \"HTTP/1.1 400 Bad Request\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("1883", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_TLS_port_reached_without_TLS_is_reported_with_the_bytes_it_sent()
    {
        // A TLS server answers bytes it cannot parse as a ClientHello with an alert record: 0x15 0x03 0x03 ...
        var error = await ConnectToAsync([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32]);
        Assert.Contains("does not speak MQTT: it answered CONNECT with bytes 15030300020232", error.Message, StringComparison.Ordinal);
        Assert.Contains("mqtts://", error.Message, StringComparison.Ordinal);
    }

    private static async Task<MqttConnectException> ConnectToAsync(byte[] answer)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var server = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync();
            var buffer = new byte[1024];
            await socket.ReceiveAsync(buffer); // the CONNECT
            await socket.SendAsync(answer);
            await Task.Delay(500);
        });

        var error = await Assert.ThrowsAsync<MqttConnectException>(() => MqttConnection.ConnectAsync($"mqtt://127.0.0.1:{port}"));
        await server;
        return error;
    }
}
