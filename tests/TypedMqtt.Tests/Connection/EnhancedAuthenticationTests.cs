using System.Collections.Concurrent;
using System.Text;
using TypedMqtt.Tests.Infrastructure;
using static TypedMqtt.Tests.Infrastructure.Wire;

namespace TypedMqtt.Tests.Connection;

/// <summary>
/// MQTT 5 enhanced authentication (§4.12) against a scripted broker that runs multi-step exchanges: on CONNECT, on
/// demand and on a schedule, and what happens when either side refuses.
/// </summary>
public sealed class EnhancedAuthenticationTests
{
    private const string Method = "TEST-SCRAM";

    [Fact]
    public async Task A_two_step_exchange_on_CONNECT_authenticates_and_the_server_is_checked()
    {
        await using var broker = new ScriptedBroker(async s =>
        {
            Assert.Equal((Method, "client-first"), AuthOf(s.Connect!, connect: true));
            await s.SendAsync(Auth(0x18, "server-first"));
            var answer = await s.WaitForAsync(15);
            Assert.Equal((Method, "client-final:server-first"), AuthOf(answer, connect: false));
            await s.SendAsync(Packet(0x20, [0x00, 0x00], Properties(Method, "server-final")));
            await Task.Delay(Timeout.Infinite);
        });
        var authenticator = new ScriptedAuthenticator("server-final");
        await using var connection = await MqttConnection.ConnectAsync(Options(broker, authenticator));

        Assert.True(connection.IsConnected);
        Assert.Equal(["start", "continue:server-first", "complete:server-final"], authenticator.Steps);
        Assert.Null(broker.ScriptError);
    }

    [Fact]
    public async Task A_server_whose_final_data_the_authenticator_refuses_fails_the_connect()
    {
        await using var broker = new ScriptedBroker(async s =>
        {
            await s.SendAsync(Packet(0x20, [0x00, 0x00], Properties(Method, "forged")));
            await Task.Delay(Timeout.Infinite);
        });
        var error = await Assert.ThrowsAsync<MqttConnectException>(() => MqttConnection.ConnectAsync(Options(broker, new ScriptedAuthenticator("server-final"))));
        Assert.Contains("the authenticator (TEST-SCRAM) refused the server's final authentication data: server signature 'forged' is wrong", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Re_authentication_on_demand_runs_its_own_exchange_on_the_open_connection()
    {
        await using var broker = new ScriptedBroker(async s =>
        {
            await s.SendAsync(Packet(0x20, [0x00, 0x00], Properties(Method, "server-final")));
            var start = await s.WaitForAsync(15);
            Assert.Equal(0x19, start.Body[0]);
            Assert.Equal((Method, "renew-first"), AuthOf(start, connect: false));
            await s.SendAsync(Auth(0x18, "renew-challenge"));
            var answer = await s.WaitForAsync(15);
            Assert.Equal((Method, "client-final:renew-challenge"), AuthOf(answer, connect: false));
            await s.SendAsync(Auth(0x00, "server-final"));
            await Task.Delay(Timeout.Infinite);
        });
        var authenticator = new ScriptedAuthenticator("server-final");
        await using var connection = await MqttConnection.ConnectAsync(Options(broker, authenticator));

        await connection.ReauthenticateAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["start", "complete:server-final", "restart", "continue:renew-challenge", "complete:server-final"], authenticator.Steps);
        Assert.True(connection.IsConnected);
        Assert.Null(broker.ScriptError);
    }

    [Fact]
    public async Task Scheduled_re_authentication_repeats_while_the_connection_is_open()
    {
        var renewals = 0;
        await using var broker = new ScriptedBroker(async s =>
        {
            await s.SendAsync(Packet(0x20, [0x00, 0x00], Properties(Method, "server-final")));
            while (true)
            {
                var start = await s.WaitForAsync(15);
                Assert.Equal(0x19, start.Body[0]);
                Interlocked.Increment(ref renewals);
                await s.SendAsync(Auth(0x00, "server-final"));
            }
        });
        var authenticator = new ScriptedAuthenticator("server-final");
        await using var connection = await MqttConnection.ConnectAsync(Options(broker, authenticator, TimeSpan.FromMilliseconds(200)));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Volatile.Read(ref renewals) < 3)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {renewals} re-authentications");
            await Task.Delay(20);
        }

        Assert.True(connection.IsConnected);
        Assert.True(authenticator.Steps.Count(s => s == "restart") >= 3);
    }

    [Fact]
    public async Task A_refused_re_authentication_ends_the_connection_with_the_servers_reason()
    {
        await using var broker = new ScriptedBroker(async s =>
        {
            await s.SendAsync(Packet(0x20, [0x00, 0x00], Properties(Method, "server-final")));
            await s.WaitForAsync(15);
            await s.SendAsync(0xE0, 0x02, 0x87, 0x00); // DISCONNECT not authorized
            s.Close();
        }, async s => await Task.Delay(Timeout.Infinite));
        await using var connection = await MqttConnection.ConnectAsync(Options(broker, new ScriptedAuthenticator("server-final")));
        var states = new ConcurrentQueue<MqttConnectionStateChangedEventArgs>();
        connection.StateChanged += (_, e) => states.Enqueue(e);

        await Assert.ThrowsAnyAsync<Exception>(() => connection.ReauthenticateAsync().WaitAsync(TimeSpan.FromSeconds(10)));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!states.Any(e => e.DisconnectReasonCode == 0x87))
        {
            Assert.True(DateTime.UtcNow < deadline, "no state change with 0x87: " + string.Join(" | ", states.Select(e => e.Reason)));
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task The_embedded_broker_runs_a_two_step_exchange_on_CONNECT_and_the_connection_then_works()
    {
        // MQTTnet's server (the embedded broker) runs an exchange on CONNECT; it has no re-authentication.
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        var serverSaw = new ConcurrentQueue<string>();
        broker.Server.ValidatingConnectionAsync += async e =>
        {
            serverSaw.Enqueue($"{e.AuthenticationMethod}:{Encoding.UTF8.GetString(e.AuthenticationData)}");
            var answer = await e.ExchangeEnhancedAuthenticationAsync(new MQTTnet.Server.EnhancedAuthentication.ExchangeEnhancedAuthenticationOptionsFactory().WithAuthenticationData("server-first").Build());
            serverSaw.Enqueue(Encoding.UTF8.GetString(answer.AuthenticationData));
            e.ResponseAuthenticationData = Encoding.UTF8.GetBytes("server-final");
        };
        var authenticator = new ScriptedAuthenticator("server-final");
        await using var connection = await MqttConnection.ConnectAsync(MqttConnectionOptionsBuilder.FromAddress(broker.Address).WithAuthenticator(authenticator).Build());

        Assert.Equal([$"{Method}:client-first", "client-final:server-first"], serverSaw);
        Assert.Equal(["start", "continue:server-first", "complete:server-final"], authenticator.Steps);
        await using var probe = await MessageProbe.SubscribeAsync(connection, "auth/after");
        await connection.PublishAsync("auth/after", "ok"u8.ToArray(), MqttQos.AtLeastOnce);
        Assert.Equal("ok", (await probe.NextAsync()).Text);
    }

    [Fact]
    public async Task Options_that_cannot_work_are_refused_with_what_to_do()
    {
        var authenticator = new ScriptedAuthenticator("x");
        var both = Assert.Throws<ArgumentException>(() => MqttConnectionOptionsBuilder.FromAddress("mqtt://a").WithAuthentication("PLAIN").WithAuthenticator(authenticator).Build());
        Assert.Contains("either an Authenticator or an AuthenticationMethod", both.Message, StringComparison.Ordinal);
        var v311 = Assert.Throws<ArgumentException>(() => MqttConnectionOptionsBuilder.FromAddress("mqtt://a?version=3.1.1").WithAuthenticator(authenticator).Build());
        Assert.Contains("Authentication is an MQTT 5 feature", v311.Message, StringComparison.Ordinal);
        var every = Assert.Throws<ArgumentException>(() => MqttConnectionOptionsBuilder.FromAddress("mqtt://a").WithAuthenticator(authenticator, TimeSpan.Zero).Build());
        Assert.Contains("ReauthenticateEvery needs an Authenticator and a positive interval", every.Message, StringComparison.Ordinal);

        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var plain = await MqttConnection.ConnectAsync(broker.Address);
        var none = await Assert.ThrowsAsync<InvalidOperationException>(() => plain.ReauthenticateAsync());
        Assert.Contains("WithAuthenticator", none.Message, StringComparison.Ordinal);
    }

    private static MqttConnectionOptions Options(ScriptedBroker broker, IMqttAuthenticator authenticator, TimeSpan? every = null) =>
        MqttConnectionOptionsBuilder.FromAddress($"mqtt://127.0.0.1:{broker.Port}").WithAuthenticator(authenticator, every).Build();

    private static byte[] Auth(byte reason, string data) => Packet(0xF0, [reason], Properties(Method, data));

    private static byte[] Properties(string method, string data)
    {
        byte[] properties = [0x15, .. Str(method), 0x16, .. Str(data)];
        return [.. Varint(properties.Length), .. properties];
    }

    /// <summary>The authentication method and data of CONNECT or AUTH.</summary>
    private static (string? Method, string? Data) AuthOf(RawPacket packet, bool connect)
    {
        var body = packet.Body;
        var offset = connect ? 2 + ((body[0] << 8) | body[1]) + 1 + 1 + 2 : 1; // protocol name, level, flags, keep alive | reason code
        var (length, size) = ReadVarint(body, offset);
        offset += size;
        var end = offset + length;
        string? method = null, data = null;
        while (offset < end)
        {
            var id = body[offset++];
            switch (id)
            {
                case 0x15 or 0x16:
                    var n = (body[offset] << 8) | body[offset + 1];
                    var text = Encoding.UTF8.GetString(body, offset + 2, n);
                    offset += 2 + n;
                    (method, data) = id == 0x15 ? (text, data) : (method, text);
                    break;
                case 0x11 or 0x27:
                    offset += 4;
                    break;
                case 0x21 or 0x22:
                    offset += 2;
                    break;
                case 0x17 or 0x19:
                    offset += 1;
                    break;
                case 0x26:
                    offset += 2 + ((body[offset] << 8) | body[offset + 1]);
                    offset += 2 + ((body[offset] << 8) | body[offset + 1]);
                    break;
                default:
                    throw new InvalidOperationException($"property 0x{id:X2} not expected");
            }
        }

        return (method, data);
    }

    /// <summary>A challenge/response authenticator that records its steps and checks the server's final data.</summary>
    private sealed class ScriptedAuthenticator(string serverSignature) : IMqttAuthenticator
    {
        public ConcurrentQueue<string> Steps { get; } = new();

        public string Method => EnhancedAuthenticationTests.Method;

        public ValueTask<ReadOnlyMemory<byte>> StartAsync(bool reauthenticating, CancellationToken cancellationToken)
        {
            Steps.Enqueue(reauthenticating ? "restart" : "start");
            return ValueTask.FromResult<ReadOnlyMemory<byte>>(Encoding.UTF8.GetBytes(reauthenticating ? "renew-first" : "client-first"));
        }

        public ValueTask<ReadOnlyMemory<byte>> ContinueAsync(ReadOnlyMemory<byte> serverData, CancellationToken cancellationToken)
        {
            var challenge = Encoding.UTF8.GetString(serverData.Span);
            Steps.Enqueue("continue:" + challenge);
            return ValueTask.FromResult<ReadOnlyMemory<byte>>(Encoding.UTF8.GetBytes("client-final:" + challenge));
        }

        public ValueTask CompleteAsync(ReadOnlyMemory<byte> serverData, CancellationToken cancellationToken)
        {
            var signature = Encoding.UTF8.GetString(serverData.Span);
            Steps.Enqueue("complete:" + signature);
            return signature == serverSignature ? ValueTask.CompletedTask : throw new InvalidOperationException($"server signature '{signature}' is wrong");
        }
    }
}
