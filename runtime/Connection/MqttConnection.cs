using System.Buffers;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;
using TypedMqtt.Delivery;
using TypedMqtt.Dispatch;
using TypedMqtt.Topics;

namespace TypedMqtt;

/// <summary>
/// One MQTT connection over MQTTnet: connect, publish, subscribe with ordered per-subscription delivery, observable
/// state, and automatic reconnect with resubscription. Typed clients generated from contracts are views over one of these;
/// several contracts can share it.
/// </summary>
public sealed partial class MqttConnection : IAsyncDisposable
{
    private readonly SubscriptionRegistry _subscriptions = new();
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private readonly CancellationTokenSource _lifetime = new();
    private readonly List<SubscriptionRegistry.FilterEntry> _entryScratch = [];
    private readonly List<MessageSink> _sinkScratch = [];
    private readonly ILogger _logger;
    private MqttConnectResult _connectResult = new();
    private MqttConnectionState _state = MqttConnectionState.Connecting;
    private Task _reconnectLoop = Task.CompletedTask;
    private volatile bool _closing;
    private int _reconnectAttempts;

    private MqttConnection(MqttConnectionOptions options)
    {
        Options = options;
        _logger = options.Logger;
        _queue = new OutboundQueue(Math.Max(options.OfflineQueue.Capacity, 1));
    }

    /// <summary>Raised on every state change: connected, disconnected (with the reason), session taken over, closed.</summary>
    public event EventHandler<MqttConnectionStateChangedEventArgs>? StateChanged;

    /// <summary>Raised when a received message could not be decoded or its handler threw. The connection stays up.</summary>
    public event EventHandler<MqttMessageErrorEventArgs>? MessageFailed;

    /// <summary>Raised when a subscription could not be restored after a reconnect (the broker refused it).</summary>
    public event EventHandler<MqttSubscriptionFailedEventArgs>? SubscriptionFailed;

    /// <summary>The options this connection was opened with (the client id is final).</summary>
    public MqttConnectionOptions Options { get; }

    /// <summary>What the server said in the latest CONNACK.</summary>
    public MqttConnectResult ConnectResult => Volatile.Read(ref _connectResult);

    /// <summary>The current state.</summary>
    public MqttConnectionState State => _state;

    /// <summary>True while connected.</summary>
    public bool IsConnected => _state == MqttConnectionState.Connected && _link is { } link && link.Client.IsConnected;

    /// <summary>How many reconnect attempts were made since the connection was opened.</summary>
    public int ReconnectAttempts => Volatile.Read(ref _reconnectAttempts);

    /// <summary>Opens a connection and waits for CONNACK.</summary>
    /// <param name="options">Validated options.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>The open connection.</returns>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="MqttConnectException">The server refused, the handshake timed out, TLS failed or the socket could not be opened.</exception>
    public static async Task<MqttConnection> ConnectAsync(MqttConnectionOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        MqttConnectionOptionsValidator.ThrowIfInvalid(options);
        var connection = new MqttConnection(options);
        connection.RecoverOutbox();
        try
        {
            await connection.ConnectOnceAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            connection._closing = true;
            throw;
        }
    }

    /// <summary>Opens a connection from an address string, optionally refined in code.</summary>
    /// <param name="address">For example <c>mqtts://user:pass@broker:8883?clientId=sensor-1&amp;keepAlive=30</c>.</param>
    /// <param name="configure">Further settings, applied after the address.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>The open connection.</returns>
    public static Task<MqttConnection> ConnectAsync(string address, Action<MqttConnectionOptionsBuilder>? configure = null, CancellationToken cancellationToken = default)
    {
        var builder = MqttConnectionOptionsBuilder.FromAddress(address);
        configure?.Invoke(builder);
        return ConnectAsync(builder.Build(), cancellationToken);
    }

    /// <summary>Sends DISCONNECT (reason 0x00: the broker discards the will) and closes the connection for good.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the connection is closed.</returns>
    public Task DisconnectAsync(CancellationToken cancellationToken = default) =>
        CloseAsync(MqttClientDisconnectOptionsReason.NormalDisconnection, "the application disconnected", cancellationToken);

    /// <summary>
    /// Sends DISCONNECT with reason 0x04 so the broker publishes the will, then closes for good. MQTT 5 only; on 3.1.1
    /// the socket is closed without DISCONNECT, which also makes the broker publish the will.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the connection is closed.</returns>
    public Task DisconnectWithWillAsync(CancellationToken cancellationToken = default) =>
        CloseAsync(MqttClientDisconnectOptionsReason.DisconnectWithWillMessage, "the application disconnected with its will", cancellationToken);

    /// <summary>
    /// Closes the socket without sending DISCONNECT, as if the process had crashed, and does not reconnect: the broker
    /// publishes the will. For tests and demonstrations of failure handling.
    /// </summary>
    /// <returns>A task that completes when the socket is closed.</returns>
    public async Task AbortAsync()
    {
        if (_closing)
        {
            return;
        }

        _closing = true;
        await _lifetime.CancelAsync().ConfigureAwait(false);
        Volatile.Read(ref _linkReady).TrySetException(new ObjectDisposedException(nameof(MqttConnection), "The connection was aborted."));
        if (_link is { } link)
        {
            await link.Stop.CancelAsync().ConfigureAwait(false);
            link.Client.Dispose();
        }

        SetState(MqttConnectionState.Closed, "the application aborted the connection without DISCONNECT");
    }

    /// <summary>Disconnects normally (if still connected), stops every subscription and releases the connection.</summary>
    /// <returns>A task that completes when everything is released.</returns>
    public async ValueTask DisposeAsync()
    {
        if (!_closing)
        {
            try
            {
                await DisconnectAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is MqttCommunicationException or OperationCanceledException or ObjectDisposedException)
            {
                _logger.LogDebug(e, "Disconnect during dispose failed; the socket is closed anyway.");
            }
        }

        try
        {
            await _reconnectLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The loop ends by cancellation.
        }

        foreach (var entry in _subscriptions.Snapshot())
        {
            foreach (var sink in entry.Sinks)
            {
                await sink.StopAsync().ConfigureAwait(false);
            }
        }

        ClearUnclaimed();
        FailQueued("The connection was disposed before the message was sent.");
        if (_link is { } link)
        {
            await link.Stop.CancelAsync().ConfigureAwait(false);
            link.Client.Dispose();
        }

        _lifetime.Dispose();
        _connectGate.Dispose();
    }

    private async Task CloseAsync(MqttClientDisconnectOptionsReason reason, string description, CancellationToken cancellationToken)
    {
        if (_closing)
        {
            return;
        }

        _closing = true;
        await _lifetime.CancelAsync().ConfigureAwait(false);
        Volatile.Read(ref _linkReady).TrySetException(new ObjectDisposedException(nameof(MqttConnection), "The connection was closed."));
        try
        {
            if (_link is { } link && link.Client.IsConnected)
            {
                await link.Stop.CancelAsync().ConfigureAwait(false);
                var disconnect = new MqttClientDisconnectOptions { Reason = reason };
                if (reason == MqttClientDisconnectOptionsReason.DisconnectWithWillMessage && Options.ProtocolVersion != MqttVersion.V500)
                {
                    // 3.1.1 has no reason codes; dropping the socket without DISCONNECT is what triggers the will there.
                    link.Client.Dispose();
                }
                else
                {
                    await SendDisconnectAsync(link, disconnect, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            SetState(MqttConnectionState.Closed, description);
        }
    }

    /// <summary>
    /// Sends DISCONNECT, but never waits longer than the connect timeout: on a half-open socket whose send buffer is full
    /// (a frozen peer), the write would wait forever behind MQTTnet's send lock. Past the bound the socket is closed.
    /// </summary>
    private async Task SendDisconnectAsync(Link link, MqttClientDisconnectOptions disconnect, CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(Options.ConnectTimeout);
        try
        {
            await link.Client.DisconnectAsync(disconnect, bounded.Token).WaitAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            _logger.LogDebug("DISCONNECT to {Address} was not written within {Timeout}; closing the socket.", Options.DisplayAddress, Options.ConnectTimeout);
            link.Client.Dispose();
        }
    }

    private void SetState(MqttConnectionState state, string reason, int? reasonCode = null, Exception? exception = null)
    {
        var previous = _state;
        _state = state;
        if (previous == state && state != MqttConnectionState.Disconnected)
        {
            return;
        }

        LogStateChanged(_logger, Options.DisplayAddress, previous, state, reason);
        StateChanged?.Invoke(this, new MqttConnectionStateChangedEventArgs(previous, state, reason, reasonCode, exception));
    }

    internal void ReportMessageError(MqttMessageErrorEventArgs error)
    {
        LogMessageFailed(_logger, error.Exception, error.Stage, error.Topic, error.Filter);
        MessageFailed?.Invoke(this, error);
    }

    private static readonly Action<ILogger, string, MqttConnectionState, MqttConnectionState, string, Exception?> StateChangedLog =
        LoggerMessage.Define<string, MqttConnectionState, MqttConnectionState, string>(LogLevel.Information, new EventId(1, "StateChanged"), "MQTT {Address}: {Previous} -> {Current}: {Reason}");

    private static readonly Action<ILogger, MqttMessageErrorStage, string, string, Exception?> MessageFailedLog =
        LoggerMessage.Define<MqttMessageErrorStage, string, string>(LogLevel.Warning, new EventId(2, "MessageFailed"), "MQTT message failed at {Stage} on topic {Topic} (filter {Filter})");

    private static void LogStateChanged(ILogger logger, string address, MqttConnectionState previous, MqttConnectionState current, string reason) =>
        StateChangedLog(logger, address, previous, current, reason, null);

    private static void LogMessageFailed(ILogger logger, Exception exception, MqttMessageErrorStage stage, string topic, string filter) =>
        MessageFailedLog(logger, stage, topic, filter, exception);
}
