using System.Net;
using System.Net.Sockets;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace TypedMqtt;

/// <summary>
/// An MQTT broker in the current process (MQTTnet.Server) on a free loopback port, with persistent sessions on:
/// for the Quickstart, for tests and for trying things without installing a broker. TCP only.
/// </summary>
/// <remarks>
/// Upstream limitation: MQTTnet's server does not publish the will when a client disconnects with reason 0x04
/// (dotnet/MQTTnet#2256); it does publish it when the connection drops. Test that path against Mosquitto.
/// </remarks>
public sealed class EmbeddedMqttBroker : IAsyncDisposable
{
    private readonly MqttServer _server;

    private EmbeddedMqttBroker(MqttServer server, int port)
    {
        _server = server;
        Port = port;
    }

    /// <summary>
    /// Messages the broker holds for one client before it drops the oldest. MQTTnet's default of 1,000 silently lost QoS 0
    /// and QoS 1 messages to a subscriber that fell a second behind a fast publisher on the same machine; 100,000 keeps
    /// memory bounded (tens of MB for a client that never reads) while a subscriber that is merely slower catches up.
    /// </summary>
    public const int MaxPendingMessagesPerClient = 100_000;

    /// <summary>The loopback port the broker listens on.</summary>
    public int Port { get; }

    /// <summary>The address to connect to, <c>mqtt://127.0.0.1:{Port}</c>.</summary>
    public string Address => $"mqtt://127.0.0.1:{Port}";

    /// <summary>The underlying MQTTnet server, for inspection in tests.</summary>
    public MqttServer Server => _server;

    /// <summary>Starts a broker on a free loopback port (or the given one).</summary>
    /// <param name="port">A port, or 0 for a free one.</param>
    /// <param name="users">User name/password pairs that may connect; <see langword="null"/> lets anyone in.</param>
    /// <returns>The running broker.</returns>
    public static async Task<EmbeddedMqttBroker> StartAsync(int port = 0, IReadOnlyDictionary<string, string>? users = null)
    {
        var chosen = port == 0 ? FindFreePort() : port;
        var options = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
            .WithDefaultEndpointPort(chosen)
            .WithPersistentSessions(true)
            .WithMaxPendingMessagesPerClient(MaxPendingMessagesPerClient)
            .Build();
        var server = new MqttServerFactory().CreateMqttServer(options);
        if (users is not null)
        {
            server.ValidatingConnectionAsync += e =>
            {
                if (e.UserName is null || !users.TryGetValue(e.UserName, out var password) || !string.Equals(password, e.Password, StringComparison.Ordinal))
                {
                    e.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
                }

                return Task.CompletedTask;
            };
        }

        await server.StartAsync().ConfigureAwait(false);
        return new EmbeddedMqttBroker(server, chosen);
    }

    /// <summary>Stops the broker, closing every client connection.</summary>
    /// <returns>A task that completes when the broker has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync().ConfigureAwait(false);
        _server.Dispose();
    }

    private static int FindFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
