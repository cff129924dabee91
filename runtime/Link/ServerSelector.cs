using Microsoft.Extensions.Logging;

namespace TypedMqtt.Link;

/// <summary>
/// Chooses the server for each connection attempt: the address, then each failover server in turn (a failed attempt
/// moves the next one along, round the list, so the reconnect policy's backoff paces the rotation), and follows MQTT 5
/// redirects (0x9C / 0x9D with a Server Reference) up to <see cref="MqttConnectionOptions.FollowRedirects"/> per attempt.
/// A redirect the server gives on DISCONNECT is kept for the next attempt.
/// </summary>
internal sealed class ServerSelector
{
    private readonly MqttConnectionOptions _options;
    private readonly ILogger _logger;
    private readonly LinkConnector[] _servers;
    private int _current;
    private string? _pendingRedirect;

    public ServerSelector(MqttConnectionOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        _servers = [new LinkConnector(options, logger), .. options.FailoverServers.Select(s => new LinkConnector(options with { Host = s.Host, Port = s.Port }, logger))];
    }

    /// <summary>Connects to the current server (or where a redirect points); a failure moves the next attempt to the next server.</summary>
    public async Task<(MQTTnet.Adapter.IMqttChannelAdapter Adapter, MqttConnectResult Result)> ConnectAsync(bool cleanStart, CancellationToken cancellationToken)
    {
        var redirects = 0;
        var connector = Interlocked.Exchange(ref _pendingRedirect, null) is { } pending && _options.FollowRedirects > 0 && Redirected(pending) is { } first
            ? first
            : _servers[(int)((uint)Volatile.Read(ref _current) % (uint)_servers.Length)]; // unsigned: the counter may wrap
        while (true)
        {
            try
            {
                return await connector.ConnectAsync(cleanStart, cancellationToken).ConfigureAwait(false);
            }
            catch (MqttConnectException e) when (e.ServerReference is { } reference && redirects < _options.FollowRedirects && Redirected(reference) is { } next)
            {
                redirects++;
                connector = next;
            }
            catch (MqttConnectException) when (_servers.Length > 1)
            {
                Interlocked.Increment(ref _current);
                throw;
            }
        }
    }

    /// <summary>The server sent DISCONNECT with a redirect: the next attempt goes there, when redirects are followed.</summary>
    public void RedirectNextAttempt(string serverReference) => Volatile.Write(ref _pendingRedirect, serverReference);

    /// <summary>
    /// A connector for a Server Reference (MQTT 5 §4.11: host, host:port, or several separated by spaces, of which the
    /// first is taken); null when it cannot be read.
    /// </summary>
    private LinkConnector? Redirected(string reference)
    {
        var first = reference.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return first is not null && MqttAddress.ParseServer(first) is { } server
            ? new LinkConnector(_options with { Host = server.Host, Port = server.Port ?? _options.Port }, _logger)
            : null;
    }

}
