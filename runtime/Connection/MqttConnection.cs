using Microsoft.Extensions.Logging;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using TypedMqtt.Delivery;
using TypedMqtt.Diagnostics;
using TypedMqtt.Dispatch;
using TypedMqtt.Link;
using TypedMqtt.Session;

namespace TypedMqtt;

/// <summary>
/// One MQTT connection: connect, publish, subscribe with ordered per-subscription delivery, observable state, and
/// automatic reconnect that resumes the session. Typed clients generated from contracts are views over one of these;
/// several contracts can share it. A façade over parts with one job each: <see cref="LinkConnector"/> (CONNECT),
/// <see cref="MqttLink"/> (one network connection and its protocol loop), <see cref="SessionState"/> (packet identifiers
/// and flows), <see cref="OutboundDelivery"/> and <see cref="InboundRouter"/>.
/// </summary>
public sealed partial class MqttConnection : IAsyncDisposable, ILinkOwner, IReconnectTarget
{
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private readonly CancellationTokenSource _lifetime = new();
    private readonly ILogger _logger;
    private readonly SessionState _session;
    private readonly LinkHolder _links = new();
    private readonly ServerSelector _connector;
    private readonly OutboundDelivery _delivery;
    private readonly InboundRouter _router;
    private readonly Requests.Requester _requester;
    private volatile MqttLink? _link;

    /// <summary>The current network connection (tests look at its reading thread).</summary>
    internal MqttLink? CurrentLink => _link;
    private MqttConnectResult _connectResult = new();
    private MqttConnectionState _state = MqttConnectionState.Connecting;
    private volatile bool _closing;
    private int _linkNumber;

    /// <summary>The subscriptions' restore on the latest link (OpenLinkAsync); complete when it had a session.</summary>
    private Task _restored = Task.CompletedTask;
    private readonly ReconnectSupervisor _reconnect;
    private int _deadConnectionsDetected;
    private int _opened;

    internal MqttConnection(MqttConnectionOptions options)
    {
        Options = options;
        _logger = options.Logger;
        _session = new SessionState(options.Outbox);
        _connector = new ServerSelector(options, _logger);
        _delivery = new OutboundDelivery(new DeliverySettings(options.DisplayAddress, options.ProtocolVersion == MqttVersion.V500, options.Outbox, options.OfflineQueue), _session, _links, _logger);
        _router = new InboundRouter(new RouterSettings(options.ProtocolVersion, options.CleanStart, options.ConnectTimeout, options.MaxInboundPayloadBytes, ReportMessageError), _links);
        _reconnect = new ReconnectSupervisor(options.Reconnect, options.DisplayAddress, _logger, _lifetime.Token, this);
        _requester = new Requests.Requester(this, _logger);
        _delivery.PublishRejected += (topic, reason, code) => Raise(PublishRejected, new MqttPublishRejectedEventArgs(topic, reason, code), nameof(PublishRejected));
    }

    /// <summary>
    /// Raised on every state change: connected, disconnected (with the reason), session taken over, closed. A handler
    /// that throws is logged (event 13) and does not stop the connection; the same holds for every event here.
    /// </summary>
    public event EventHandler<MqttConnectionStateChangedEventArgs>? StateChanged;

    /// <summary>Raised when a received message could not be decoded or its handler threw. The connection stays up.</summary>
    public event EventHandler<MqttMessageErrorEventArgs>? MessageFailed;

    /// <summary>Raised when a subscription could not be restored after a reconnect (the broker refused it).</summary>
    public event EventHandler<MqttSubscriptionFailedEventArgs>? SubscriptionFailed;

    /// <summary>
    /// Raised when a publish is given up because the broker closed the connection right after it twice (packet too large,
    /// QoS or retain not allowed, bad topic or payload format, quota). Its task fails with the same reason.
    /// </summary>
    public event EventHandler<MqttPublishRejectedEventArgs>? PublishRejected;

    /// <summary>The options this connection was opened with (the client id is final).</summary>
    public MqttConnectionOptions Options { get; }

    /// <summary>What the server said in the latest CONNACK.</summary>
    public MqttConnectResult ConnectResult => Volatile.Read(ref _connectResult);

    /// <summary>The current state.</summary>
    public MqttConnectionState State => _state;

    /// <summary>True while connected.</summary>
    public bool IsConnected => _state == MqttConnectionState.Connected && _link is { IsLost: false };

    /// <summary>How many reconnect attempts were made since the connection was opened.</summary>
    public int ReconnectAttempts => _reconnect.Attempts;

    /// <summary>Counters since the connection was opened.</summary>
    public MqttConnectionStatistics Statistics => new()
    {
        Completed = _delivery.Counters.Completed,
        Resent = _delivery.Counters.Resent,
        Queued = _delivery.Counters.Queued,
        Dropped = _delivery.Counters.Dropped,
        TopicAliasBytesSaved = _delivery.Counters.TopicBytesSaved,
        Rejected = _delivery.Counters.Rejected,
        MaxInFlight = _delivery.Counters.MaxInFlight,
        Reconnects = _reconnect.Reconnects,
        DeadConnectionsDetected = Volatile.Read(ref _deadConnectionsDetected),
        QueueLength = _delivery.QueueLength,
        InFlight = _delivery.InFlight,
        Requests = _requester.Calls,
        RequestTimeouts = _requester.Timeouts,
        LateReplies = _requester.LateReplies,
        UnknownReplies = _requester.UnknownReplies,
    };

    /// <summary>Opens a connection and waits for CONNACK.</summary>
    /// <param name="options">Validated options.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>The open connection.</returns>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="MqttConnectException">The server refused, the handshake timed out, TLS failed or the socket could not be opened.</exception>
    public static async Task<MqttConnection> ConnectAsync(MqttConnectionOptions options, CancellationToken cancellationToken = default)
    {
        var connection = Create(options);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    /// <summary>
    /// Creates a connection that is not open yet, for hosts that hand it out before they start: publishes wait in the
    /// offline queue (by the policy of their QoS), subscriptions and requests wait for the connection, and
    /// <see cref="OpenAsync"/> connects. <see cref="ConnectAsync(MqttConnectionOptions, CancellationToken)"/> does both.
    /// </summary>
    /// <param name="options">Validated options.</param>
    /// <returns>The connection, not yet open.</returns>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static MqttConnection Create(MqttConnectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        MqttConnectionOptionsValidator.ThrowIfInvalid(options);
        var connection = new MqttConnection(options);
        connection._delivery.RecoverOutbox();
        MqttTelemetry.Track(connection);
        return connection;
    }

    /// <summary>
    /// Opens a connection made by <see cref="Create"/>: connects, waits for CONNACK, then sends what waited. If the first
    /// connect fails, the connection is closed for good (create a new one to try again); after it succeeded, a dropped
    /// connection reconnects by itself.
    /// </summary>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>A task that completes when the connection is open.</returns>
    /// <exception cref="MqttConnectException">The server refused, the handshake timed out, TLS failed or the socket could not be opened.</exception>
    /// <exception cref="InvalidOperationException">It was opened before.</exception>
    public async Task OpenAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _opened, 1) != 0)
        {
            throw new InvalidOperationException("The connection was opened already; a connection opens once (it reconnects by itself after that).");
        }

        try
        {
            await ConnectOnceAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _closing = true;
            _links.Close("The connection could not be opened.");
            throw;
        }
    }

    /// <summary>Waits until the connection has a link that new work may use (for parts that need what CONNACK said).</summary>
    internal Task WhenLinkedAsync(CancellationToken cancellationToken) => _links.WaitAsync(cancellationToken);

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

    /// <summary>
    /// Waits until every publish accepted so far is done: nothing in the offline queue, every QoS 1/2 publish acknowledged
    /// by the broker. For a graceful stop: flush within a deadline, then disconnect, and report
    /// <see cref="MqttConnectionStatistics.QueueLength"/> and <see cref="MqttConnectionStatistics.InFlight"/> if it ran out.
    /// </summary>
    /// <param name="cancellationToken">Ends the wait (for example the host's shutdown deadline).</param>
    /// <returns>A task that completes when everything is delivered.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled first.</exception>
    public Task FlushAsync(CancellationToken cancellationToken = default) => _delivery.FlushAsync(cancellationToken);

    /// <summary>Sends DISCONNECT (reason 0x00: the broker discards the will) and closes the connection for good.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the connection is closed.</returns>
    public Task DisconnectAsync(CancellationToken cancellationToken = default) =>
        CloseAsync(MqttDisconnectReasonCode.NormalDisconnection, "the application disconnected", cancellationToken);

    /// <summary>
    /// Sends DISCONNECT with reason 0x04 so the broker publishes the will, then closes for good. MQTT 5 only; on 3.1.1
    /// the socket is closed without DISCONNECT, which also makes the broker publish the will.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the connection is closed.</returns>
    public Task DisconnectWithWillAsync(CancellationToken cancellationToken = default) =>
        CloseAsync(MqttDisconnectReasonCode.DisconnectWithWillMessage, "the application disconnected with its will", cancellationToken);

    /// <summary>
    /// Closes the socket without sending DISCONNECT, as if the process had crashed, and does not reconnect: the broker
    /// publishes the will. For tests and demonstrations of failure handling.
    /// </summary>
    /// <returns>A task that completes when the socket is closed.</returns>
    public Task AbortAsync() => CloseAsync(null, "the application aborted the connection without DISCONNECT", CancellationToken.None);

    /// <summary>Disconnects normally (if still connected), stops every subscription and releases the connection.</summary>
    /// <returns>A task that completes when everything is released.</returns>
    public async ValueTask DisposeAsync()
    {
        await DisconnectAsync().ConfigureAwait(false);
        try
        {
            await _reconnect.Loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The loop ends by cancellation.
        }

        await _router.StopAllAsync().ConfigureAwait(false);
        MqttTelemetry.Untrack(this);
        _delivery.FailAll("The connection was disposed before the message was acknowledged.");
        _lifetime.Dispose();
        _connectGate.Dispose();
    }

    /// <summary>Closes for good: DISCONNECT with <paramref name="reason"/> (bounded by the connect timeout), or none when null.</summary>
    private async Task CloseAsync(MqttDisconnectReasonCode? reason, string description, CancellationToken cancellationToken)
    {
        if (_closing)
        {
            return;
        }

        _closing = true;
        _requester.Close("The connection was closed before the reply arrived.");
        if (reason is not null)
        {
            await _delivery.WrittenAsync(Options.ConnectTimeout).ConfigureAwait(false);
        }

        await _lifetime.CancelAsync().ConfigureAwait(false);
        _links.Close("The connection was closed.");
        try
        {
            if (_link is { IsLost: false } link)
            {
                // 3.1.1 has no reason codes; dropping the socket without DISCONNECT is what triggers the will there.
                var sendDisconnect = reason is { } code && (code != MqttDisconnectReasonCode.DisconnectWithWillMessage || Options.ProtocolVersion == MqttVersion.V500);
                if (await link.DisconnectAsync(sendDisconnect ? new MqttDisconnectPacket { ReasonCode = reason!.Value } : null, Options.ConnectTimeout, cancellationToken).ConfigureAwait(false) is { } notWritten)
                {
                    Log.DisconnectNotWritten(_logger, Options.DisplayAddress, notWritten);
                }
            }
        }
        finally
        {
            SetState(MqttConnectionState.Closed, description);
        }
    }

    Task IReconnectTarget.ConnectOnceAsync(CancellationToken cancellationToken) => ConnectOnceAsync(cancellationToken);

    void IReconnectTarget.ReconnectAttemptFailed(int attempt, MqttConnectException exception) =>
        SetState(MqttConnectionState.Disconnected, $"reconnect attempt {attempt} failed: {exception.Message}", exception.ReasonCode, exception, LogLevel.Debug);

    Task IReconnectTarget.ReconnectedAsync(CancellationToken cancellationToken) => Volatile.Read(ref _restored);

    private Task RestoreSubscriptions(MqttLink link, bool sessionPresent) =>
        _router.RestoreAsync(link, sessionPresent, (filter, e) => Raise(SubscriptionFailed, new MqttSubscriptionFailedEventArgs(filter, e), nameof(SubscriptionFailed)), _lifetime.Token);

    private async Task ConnectOnceAsync(CancellationToken cancellationToken)
    {
        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            SetState(MqttConnectionState.Connecting, $"connecting to {Options.DisplayAddress}");
            _router.OnConnectStarting();
            var (adapter, result) = await _connector.ConnectAsync(Options.CleanStart, cancellationToken).ConfigureAwait(false);
            await OpenLinkAsync(adapter, result).ConfigureAwait(false);
        }
        finally
        {
            _connectGate.Release();
        }
    }

    /// <summary>Runs a connected adapter (after CONNACK) as this connection's link: starts its loops, resumes the session, drains the queue.</summary>
    internal async Task<MqttLink> OpenLinkAsync(MQTTnet.Adapter.IMqttChannelAdapter adapter, MqttConnectResult result)
    {
        Volatile.Write(ref _connectResult, result);

        // One keep-alive value for everything on the link: the server's, when it set one.
        var keepAlive = result.ServerKeepAlive ?? Options.KeepAlive;
        var settings = new LinkSettings(keepAlive, LinkSettings.DeadlineFor(keepAlive, Options.ConnectTimeout), Options.ConnectTimeout,
            Options.ProtocolVersion == MqttVersion.V500, Options.TopicAliasMaximum ?? 0,
            Options.ProtocolVersion == MqttVersion.V500 && result.SubscriptionIdentifiersAvailable, result.MaximumPacketSize, Options.CleanStart);
        var aliases = Options.UseTopicAliases && Options.ProtocolVersion == MqttVersion.V500 && result.TopicAliasMaximum > 0
            ? new OutboundTopicAliases(result.TopicAliasMaximum, result.MaximumPacketSize, _delivery.Counters)
            : null;
        // The last link's messages are delivered before this one's (Link/DeliveryTurn).
        var link = new MqttLink(adapter, settings, Interlocked.Increment(ref _linkNumber), _session, this, Math.Max((int)result.ReceiveMaximum, 1), aliases, _link?.Delivered, _lifetime.Token);
        _link = link;
        if (_closing)
        {
            // Closed while this attempt was connecting: nobody will close this link later.
            await link.DisconnectAsync(new MqttDisconnectPacket(), Options.ConnectTimeout, CancellationToken.None).ConfigureAwait(false);
            throw new OperationCanceledException("The connection was closed while connecting.");
        }

        _router.OnConnectAcknowledged(result.IsSessionPresent);
        _reconnect.OnConnected();
        link.Start();
        if (Options.Authenticator is { } authenticator && Options.ReauthenticateEvery is { } every)
        {
            _ = ReauthenticateRegularlyAsync(link, authenticator, every);
        }

        SetState(MqttConnectionState.Connected, result.IsSessionPresent ? "connected, session resumed" : "connected, new session");
        // Without a session the broker knows none of this connection's subscriptions (forgotten, or declared before the
        // connection opened); with one, it lacks those declared or upgraded since the last link, and holds those that went.
        // Their SUBSCRIBEs and UNSUBSCRIBEs are handed to the link once the session's packet identifiers are settled and
        // before the link takes other writes (the queue drains after), so nothing overtakes them: a publish queued
        // meanwhile reaches the broker after the subscription that receives it (a request's reply topic, or the
        // connection's own topic).
        Volatile.Write(ref _restored, Task.CompletedTask);
        await _delivery.ResumeAsync(link, result.IsSessionPresent, () => Volatile.Write(ref _restored, RestoreSubscriptions(link, result.IsSessionPresent))).ConfigureAwait(false);
        _router.OnReady(link);
        return link;
    }

    /// <summary>
    /// MQTT 5: re-authenticates the open connection with <see cref="MqttConnectionOptions.Authenticator"/> (AUTH
    /// "re-authenticate", then the authenticator's exchange until AUTH "success"). A server that refuses ends the
    /// connection with its reason (see <see cref="StateChanged"/>), and reconnecting authenticates again from the start.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait (the exchange may still complete on the wire).</param>
    /// <returns>A task that completes when the server accepted the new authentication.</returns>
    /// <exception cref="InvalidOperationException">No authenticator is configured, or a re-authentication is running.</exception>
    /// <exception cref="MqttOperationException">Not connected, or the exchange failed.</exception>
    public Task ReauthenticateAsync(CancellationToken cancellationToken = default)
    {
        var authenticator = Options.Authenticator ?? throw new InvalidOperationException("Re-authentication needs an authenticator: set one with WithAuthenticator(...).");
        return _link is { IsLost: false } link
            ? link.ReauthenticateAsync(authenticator, cancellationToken)
            : throw new MqttOperationException($"Re-authentication needs an open connection; {Options.DisplayAddress} is not connected now.");
    }

    private async Task ReauthenticateRegularlyAsync(MqttLink link, IMqttAuthenticator authenticator, TimeSpan every)
    {
        while (!link.IsLost)
        {
            try
            {
                await Task.Delay(every, link.Stop.Token).ConfigureAwait(false);
                await link.ReauthenticateAsync(authenticator, link.Stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (link.Stop.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A failed exchange ended the link (reported by StateChanged); a new link schedules its own.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Log.ReauthenticationFailed(_logger, Options.DisplayAddress, e.Message, e);
                return;
            }
        }
    }

    /// <summary>Inbound routing (for benchmarks that measure it).</summary>
    internal InboundRouter Router => _router;

    /// <summary>Outbound delivery (for benchmarks that measure it).</summary>
    internal OutboundDelivery Delivery => _delivery;

    ValueTask ILinkOwner.OnPublishReceivedAsync(MqttLink link, MqttPublishPacket packet) => _router.RouteAsync(packet);

    Delivery.PendingPublish? ILinkOwner.OnAcknowledgement(MqttLink link, MqttPacketWithIdentifier packet) => _delivery.OnAcknowledgement(link, packet);

    /// <summary>A link ended: nothing new goes to it, a publish it blames may be given up, the state changes and reconnecting starts.</summary>
    void ILinkOwner.OnLost(MqttLink link, LinkLoss loss)
    {
        _links.Clear(link);
        if (loss.Cause == LinkLossCause.KeepAlive)
        {
            Interlocked.Increment(ref _deadConnectionsDetected);
            Log.DeadConnection(_logger, Options.DisplayAddress, link.Settings.KeepAlive.TotalSeconds);
        }

        _delivery.OnLinkLost(link, loss);
        if (loss.ServerReference is { } reference && loss.ReasonCode is 0x9C or 0x9D)
        {
            _connector.RedirectNextAttempt(reference);
        }

        if (_closing || !ReferenceEquals(_link, link))
        {
            return;
        }

        var takenOver = loss.ReasonCode == 0x8E && loss.Cause == LinkLossCause.ServerDisconnect;
        var reason = loss.Cause is LinkLossCause.KeepAlive or LinkLossCause.AcknowledgementDeadline or LinkLossCause.ServerClosed
            ? $"{loss.Reason} ({Options.DisplayAddress})"
            : loss.Reason;
        SetState(takenOver ? MqttConnectionState.SessionTakenOver : MqttConnectionState.Disconnected, reason, loss.ReasonCode, loss.Exception);
        _reconnect.OnLost(takenOver);
    }

    private void SetState(MqttConnectionState state, string reason, int? reasonCode = null, Exception? exception = null, LogLevel? level = null)
    {
        var previous = _state;
        _state = state;
        if (previous == state && state != MqttConnectionState.Disconnected)
        {
            return;
        }

        var logLevel = level ?? state switch
        {
            MqttConnectionState.Disconnected or MqttConnectionState.SessionTakenOver => LogLevel.Warning,
            MqttConnectionState.Connecting => LogLevel.Debug,
            _ => LogLevel.Information,
        };
        Log.StateChanged(_logger, logLevel, Options.DisplayAddress, previous, state, reason);
        Raise(StateChanged, new MqttConnectionStateChangedEventArgs(previous, state, reason, reasonCode, exception), nameof(StateChanged));
    }

    private void ReportMessageError(MqttMessageErrorEventArgs error)
    {
        Log.MessageFailed(_logger, error.Exception, error.Stage, error.Topic, error.Filter);
        Raise(MessageFailed, error, nameof(MessageFailed));
    }

    /// <summary>
    /// Raises an event whose handlers run inside the connection's own work (a state change while reconnecting, a message
    /// failure on the receive path): a handler that throws is logged, and the connection goes on (delivery, reconnect).
    /// </summary>
    private void Raise<TArgs>(EventHandler<TArgs>? handlers, TArgs args, string name)
    {
        if (handlers is null)
        {
            return;
        }

        try
        {
            handlers(this, args);
        }
#pragma warning disable CA1031 // Whatever an application's handler throws must not stop the connection's loops.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.EventHandlerFailed(_logger, Options.DisplayAddress, name, e);
        }
    }
}
