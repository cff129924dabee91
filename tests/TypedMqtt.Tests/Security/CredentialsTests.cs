using System.Text;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Security;

/// <summary>
/// Issue 5, item 2: a user name or password over mqtt:// or ws:// is refused before any socket opens unless the
/// application opts in by name; a recording listener shows what would otherwise have left the process.
/// </summary>
public sealed class CredentialsTests
{
    private const string Password = "pa55-Wörd-never-on-the-wire";

    private static readonly byte[] PasswordBytes = Encoding.UTF8.GetBytes(Password);

    public static TheoryData<bool> Transports() => new() { false, true };

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Credentials_without_tls_are_refused_before_any_socket_opens(bool webSocket)
    {
        await using var listener = new RecordingListener(webSocket);
        var address = Address(webSocket, listener.Port);

        // Three ways to give credentials: the address, the builder, and options assembled by hand (which bypass the
        // builder's validation and must be caught by ConnectAsync itself).
        var fromAddress = await Assert.ThrowsAsync<ArgumentException>(() =>
            MqttConnection.ConnectAsync(address.Replace("://", $"://alice:{Uri.EscapeDataString(Password)}@", StringComparison.Ordinal)));
        var fromBuilder = await Assert.ThrowsAsync<ArgumentException>(() =>
            MqttConnection.ConnectAsync(address, b => b.WithCredentials("alice", Password)));
        var byHand = MqttConnectionOptions.Parse(address) with { UserName = "alice", Password = Password };
        var fromOptions = await Assert.ThrowsAsync<ArgumentException>(() => MqttConnection.ConnectAsync(byHand));
        var passwordOnly = MqttConnectionOptions.Parse(address) with { Password = Password };
        var fromPasswordOnly = await Assert.ThrowsAsync<ArgumentException>(() => MqttConnection.ConnectAsync(passwordOnly));

        foreach (var error in new[] { fromAddress, fromBuilder, fromOptions, fromPasswordOnly })
        {
            Assert.Contains("AllowInsecureCredentials", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Password, error.Message, StringComparison.Ordinal);
        }

        // Give a connection attempt time to show up, had one been made.
        await Task.Delay(200);
        Assert.Equal(0, listener.Accepted);
        Assert.Empty(listener.Received);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task With_the_opt_in_the_password_bytes_do_reach_the_listener(bool webSocket)
    {
        // The control for the test above: the same listener sees the password as soon as the application opts in, so
        // "0 bytes received" there means the password never left, not that the listener was blind.
        await using var listener = new RecordingListener(webSocket);
        await using (var connection = await MqttConnection.ConnectAsync(
            Address(webSocket, listener.Port),
            b => b.WithCredentials("alice", Password).AllowInsecureCredentials().Configure(o => o with { Reconnect = MqttReconnectOptions.Disabled })).WaitAsync(TimeSpan.FromSeconds(10)))
        {
            Assert.True(connection.IsConnected);
        }

        Assert.Equal(1, listener.Accepted);
        Assert.True(listener.Received.AsSpan().IndexOf(PasswordBytes) >= 0, "the password bytes were not in what the listener received");
    }

    private static string Address(bool webSocket, int port) => webSocket ? $"ws://127.0.0.1:{port}/mqtt" : $"mqtt://127.0.0.1:{port}";
}
