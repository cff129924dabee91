using System.Net;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Implementations;
using MQTTnet.Server;

namespace TypedMqtt.InMemory;

/// <summary>
/// MQTTnet server adapter without a listener: each <see cref="ConnectAsync"/> makes an in-memory stream pair, hands the
/// server's end to MQTTnet's server as a client connection (its usual codec over a stream), and returns the client's end.
/// </summary>
internal sealed class InMemoryServerAdapter : IMqttServerAdapter
{
    private static readonly EndPoint ServerEndPoint = new DnsEndPoint(EmbeddedMqttBroker.InMemoryHost, 1883);
    private IMqttNetLogger _logger = MqttNetNullLogger.Instance;
    private int _connections;
    private volatile bool _running;

    /// <summary>Set by MQTTnet's server when it starts: runs one client connection to its end.</summary>
    public Func<IMqttChannelAdapter, Task> ClientHandler { get; set; } = null!;

    public Task StartAsync(MqttServerOptions options, IMqttNetLogger logger)
    {
        _logger = logger;
        _running = true;
        return Task.CompletedTask;
    }

    public Task StopAsync()
    {
        _running = false;
        return Task.CompletedTask;
    }

    public void Dispose() => _running = false;

    /// <summary>Opens a connection to the server; the server reads it as a new client.</summary>
    public ValueTask<Stream> ConnectAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_running || ClientHandler is not { } handler)
        {
            throw new IOException("The in-memory broker is not running, so nothing accepts the connection: keep the EmbeddedMqttBroker from StartInMemoryAsync undisposed while its clients connect.");
        }

        var (client, server) = InMemoryDuplexStream.CreatePair();
        var remote = new DnsEndPoint("in-memory-client", Interlocked.Increment(ref _connections));
        _ = ServeAsync(handler, server, remote);
        return new ValueTask<Stream>(client);
    }

    private async Task ServeAsync(Func<IMqttChannelAdapter, Task> handler, Stream server, EndPoint remote)
    {
        await Task.Yield(); // the connecting client goes on at once; the server reads on its own
        try
        {
            var channel = new MqttTcpChannel(server, ServerEndPoint, remote, null);
            using var adapter = new MqttChannelAdapter(channel, new MqttPacketFormatterAdapter(new MqttBufferWriter(4096, 65536)), _logger);
            await handler(adapter).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The client went away; the server has already cleaned up its session state.
        }
        finally
        {
            await server.DisposeAsync().ConfigureAwait(false);
        }
    }
}
