using System.Net;
using System.Net.Sockets;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace TypedMqtt;

/// <summary>
/// An MQTT broker in the current process (MQTTnet.Server) with persistent sessions on: for the Quickstart, for tests and
/// for trying things without installing a broker. <see cref="StartAsync"/> listens on a free loopback port;
/// <see cref="StartInMemoryAsync"/> opens no socket at all, and clients reach it through
/// <see cref="ConnectInMemoryAsync"/> as their stream connector.
/// </summary>
/// <remarks>
/// Upstream limitation: MQTTnet's server does not publish the will when a client disconnects with reason 0x04
/// (dotnet/MQTTnet#2256); it does publish it when the connection drops. Test that path against Mosquitto.
/// It also ignores the Will Delay Interval (MQTT 5 §3.1.3.2.2): the will goes out as soon as the connection drops, and a
/// client that reconnects within the delay does not cancel it. Mosquitto waits the delay; test will delays there.
/// </remarks>
public sealed class EmbeddedMqttBroker : IAsyncDisposable
{
    /// <summary>The host name in <see cref="Address"/> of an in-memory broker.</summary>
    public const string InMemoryHost = "in-memory";

    private readonly MqttServer _server;
    private readonly InMemory.InMemoryServerAdapter? _inMemory;

    private EmbeddedMqttBroker(MqttServer server, int port, InMemory.InMemoryServerAdapter? inMemory)
    {
        _server = server;
        Port = port;
        _inMemory = inMemory;
    }

    /// <summary>
    /// Messages the broker holds for one client before it drops the oldest. MQTTnet's default of 1,000 silently lost QoS 0
    /// and QoS 1 messages to a subscriber that fell a second behind a fast publisher on the same machine; 100,000 keeps
    /// memory bounded (tens of MB for a client that never reads) while a subscriber that is merely slower catches up.
    /// </summary>
    public const int MaxPendingMessagesPerClient = 100_000;

    /// <summary>The loopback port the broker listens on; 0 for an in-memory broker.</summary>
    public int Port { get; }

    /// <summary>True for a broker started with <see cref="StartInMemoryAsync"/>: no socket, only <see cref="ConnectInMemoryAsync"/>.</summary>
    public bool IsInMemory => _inMemory is not null;

    /// <summary>
    /// The address to connect to: <c>mqtt://127.0.0.1:{Port}</c>, or <c>mqtt://in-memory</c> for an in-memory broker
    /// (which also needs <see cref="ConnectInMemoryAsync"/> as the stream connector).
    /// </summary>
    public string Address => IsInMemory ? $"mqtt://{InMemoryHost}" : $"mqtt://127.0.0.1:{Port}";

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
        return await StartServerAsync(server, chosen, null, users).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts a broker that opens no socket: a client connects with <see cref="ConnectInMemoryAsync"/> as its stream
    /// connector, and runs the real runtime (codec, session, acknowledgements) in process, as in
    /// <c>HomeClient.ConnectAsync(broker.Address, o =&gt; o.WithStreamConnector(broker.ConnectInMemoryAsync))</c>.
    /// </summary>
    /// <param name="users">User name/password pairs that may connect; <see langword="null"/> lets anyone in.</param>
    /// <returns>The running broker.</returns>
    public static async Task<EmbeddedMqttBroker> StartInMemoryAsync(IReadOnlyDictionary<string, string>? users = null)
    {
        var options = new MqttServerOptionsBuilder()
            .WithoutDefaultEndpoint()
            .WithPersistentSessions(true)
            .WithMaxPendingMessagesPerClient(MaxPendingMessagesPerClient)
            .Build();
        var adapter = new InMemory.InMemoryServerAdapter();
        var server = new MqttServerFactory().CreateMqttServer(options, [adapter]);
        return await StartServerAsync(server, 0, adapter, users).ConfigureAwait(false);
    }

    /// <summary>
    /// Opens a new in-memory connection to this broker: the stream connector for clients of an in-memory broker
    /// (<see cref="MqttConnectionOptionsBuilder.WithStreamConnector"/>). Each call is a new network connection to the broker.
    /// </summary>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>The client's end of the connection.</returns>
    /// <exception cref="InvalidOperationException">The broker listens on TCP; connect to <see cref="Address"/> instead.</exception>
    /// <exception cref="IOException">The broker has stopped.</exception>
    public ValueTask<Stream> ConnectInMemoryAsync(CancellationToken cancellationToken = default) =>
        _inMemory?.ConnectAsync(cancellationToken)
        ?? throw new InvalidOperationException($"This broker listens on TCP at {Address}; only a broker started with StartInMemoryAsync accepts in-memory connections.");

    private static async Task<EmbeddedMqttBroker> StartServerAsync(MqttServer server, int port, InMemory.InMemoryServerAdapter? inMemory, IReadOnlyDictionary<string, string>? users)
    {
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
        return new EmbeddedMqttBroker(server, port, inMemory);
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
