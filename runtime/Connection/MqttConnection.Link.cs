using Microsoft.Extensions.Logging;
using MQTTnet;

namespace TypedMqtt;

public sealed partial class MqttConnection
{
    private volatile Link? _link;
    private int _linkNumber;

    // Set when a QoS 2 publish was cut off mid-flow. MQTTnet cannot resend PUBREL with the original packet id on a new
    // connection, so a resumed session would keep the half-finished flow forever (and Mosquitto counts it against its
    // receive maximum until the client is locked out). The next connect therefore starts a clean session: the broker
    // forgets the flow, the message is resent whole, subscriptions are restored from the registry. The price is that
    // messages the broker queued for this client's subscriptions during the outage are gone; see docs/architecture.md.
    private volatile bool _cleanStartNext;
    private TaskCompletionSource<Link> _linkReady = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Waits until a connection is established (for work declared while offline).</summary>
    private Task<Link> WaitForLinkAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_closing, this);
        return Volatile.Read(ref _linkReady).Task.WaitAsync(cancellationToken);
    }

    /// <summary>The live connection, if any: the MQTTnet client of one successful connect, and what belongs to it.</summary>
    private sealed class Link(IMqttClient client, int receiveMaximum, int number)
    {
        private int _lost;

        /// <summary>1 for the first connection, 2 for the first reconnect...</summary>
        public int Number { get; } = number;

        public IMqttClient Client { get; } = client;

        /// <summary>Cancelled when this link is lost or closed: its watchdog, drain and slot waits stop.</summary>
        public CancellationTokenSource Stop { get; } = new();

        /// <summary>QoS 1/2 publishes awaiting acknowledgement may not exceed the server's receive maximum.</summary>
        public SemaphoreSlim InFlight { get; } = new(receiveMaximum, receiveMaximum);

        // When each QoS 1/2 publish awaiting acknowledgement was handed to MQTTnet (0 = free slot), so the watchdog can
        // find one whose acknowledgement is overdue without a timer per publish.
        private readonly object _clockGate = new();
        private readonly Stack<int> _freeSlots = new();
        private long[] _sentAt = new long[16];
        private int _slotsUsed;
        private int _inFlightCount;

        /// <summary>Marks the link lost; true only for the first caller.</summary>
        public bool MarkLost() => Interlocked.Exchange(ref _lost, 1) == 0;

        /// <summary>Starts the clock of a publish that holds an <see cref="InFlight"/> slot; returns its clock slot.</summary>
        public int StartClock(out int inFlight)
        {
            lock (_clockGate)
            {
                var slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : _slotsUsed++;
                if (slot == _sentAt.Length)
                {
                    Array.Resize(ref _sentAt, _sentAt.Length * 2);
                }

                _sentAt[slot] = Math.Max(Environment.TickCount64, 1);
                inFlight = ++_inFlightCount;
                return slot;
            }
        }

        /// <summary>Stops the clock and frees the <see cref="InFlight"/> slot.</summary>
        public void StopClock(int slot)
        {
            lock (_clockGate)
            {
                _sentAt[slot] = 0;
                _freeSlots.Push(slot);
                _inFlightCount--;
            }

            InFlight.Release();
        }

        /// <summary>When the oldest publish still awaiting acknowledgement was sent (Environment.TickCount64), or 0.</summary>
        public long OldestUnacknowledged()
        {
            lock (_clockGate)
            {
                long oldest = 0;
                for (var i = 0; i < _slotsUsed; i++)
                {
                    var at = _sentAt[i];
                    if (at != 0 && (oldest == 0 || at < oldest))
                    {
                        oldest = at;
                    }
                }

                return oldest;
            }
        }
    }

    // A fresh MQTTnet client per connect attempt: a half-open socket found by the watchdog is dropped by disposing its
    // client, without waiting for MQTTnet, and events of an old client can be told apart from the current one's.
    private IMqttClient CreateClient()
    {
        // MQTTnet's transports, with every packet from the broker checked against the protocol rules first.
        var client = new MqttClientFactory().CreateMqttClient(new Wire.ValidatingAdapterFactory(Options));
        client.ApplicationMessageReceivedAsync += OnMessageReceivedAsync;
        client.DisconnectedAsync += e => OnClientDisconnectedAsync(client, e);
        return client;
    }

    private void OnLinkEstablished(IMqttClient client)
    {
        var link = new Link(client, Math.Max((int)ConnectResult.ReceiveMaximum, 1), Interlocked.Increment(ref _linkNumber));
        _link = link;
        Volatile.Read(ref _linkReady).TrySetResult(link);
        _ = Task.Run(() => WatchdogAsync(link));
        StartDrain();
    }

    private Task OnClientDisconnectedAsync(IMqttClient client, MqttClientDisconnectedEventArgs e)
    {
        var link = _link;
        if (_closing || !e.ClientWasConnected || link is null || !ReferenceEquals(link.Client, client))
        {
            return Task.CompletedTask;
        }

        var code = (int)e.Reason;
        var violation = e.Exception is null ? null : Find<Wire.MqttProtocolViolation>(e.Exception);
        var reason = violation is not null
            ? $"the connection to {Options.DisplayAddress} was closed: {violation.Message}"
            : e.Exception is not null && code == 0
            ? $"the connection to {Options.DisplayAddress} was lost: {e.Exception.GetBaseException().Message}"
            : MqttReasonText.ForDisconnect(code) + (string.IsNullOrEmpty(e.ReasonString) ? string.Empty : $" (\"{e.ReasonString}\")");
        code = violation?.ReasonCode ?? code;
        LoseLink(link, reason, code == 0 ? null : code, e.Exception, takenOver: e.Reason == MqttClientDisconnectReason.SessionTakenOver);
        return Task.CompletedTask;
    }

    /// <summary>Ends a link once: stops its helpers, closes its socket, reports the state and starts reconnecting.</summary>
    private void LoseLink(Link link, string reason, int? code, Exception? exception, bool takenOver)
    {
        if (!link.MarkLost())
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _link, null, link) == link)
        {
            var next = new TaskCompletionSource<Link>(TaskCreationOptions.RunContinuationsAsynchronously);
            Interlocked.Exchange(ref _linkReady, next);
            if (_closing)
            {
                // Closed meanwhile: nobody will connect again, so nothing may wait for this one.
                next.TrySetException(new ObjectDisposedException(nameof(MqttConnection), "The connection was closed."));
            }
        }

        link.Stop.Cancel();

        // Disposing inside MQTTnet's own callback could wait on itself; the socket is closed from the thread pool.
        _ = Task.Run(link.Client.Dispose);
        if (_closing)
        {
            return;
        }

        var lived = TimeSpan.FromMilliseconds(Environment.TickCount64 - Volatile.Read(ref _connectedAtTicks));
        _shortConnections = lived < StableConnection ? _shortConnections + 1 : 0;
        SetState(takenOver ? MqttConnectionState.SessionTakenOver : MqttConnectionState.Disconnected, reason, code, exception);

        if (Options.Reconnect.Enabled)
        {
            var previousAttempts = Math.Max(_shortConnections - 1, 0);
            _reconnectLoop = Task.Run(() => ReconnectLoopAsync(takenOver, previousAttempts));
        }
    }

    /// <summary>
    /// Pings every half keep alive and declares the link dead when no PINGRESP comes within one keep alive, so a
    /// half-open connection is found within 1.5 x keep alive even while publishes keep the socket busy (MQTTnet only
    /// pings when idle, and writes into a dead socket succeed until its buffer fills). Also ends the link when a QoS 1/2
    /// publish waits longer than <see cref="AcknowledgementDeadline"/> for its acknowledgement (a broker that lost the
    /// flow): the message is then resent on the next link instead of waiting forever.
    /// </summary>
    private async Task WatchdogAsync(Link link)
    {
        var keepAlive = ConnectResult.ServerKeepAlive ?? Options.KeepAlive;
        var deadline = AcknowledgementDeadline;
        var interval = keepAlive > TimeSpan.Zero
            ? TimeSpan.FromTicks(Math.Max(keepAlive.Ticks / 2, TimeSpan.FromMilliseconds(100).Ticks))
            : deadline / 4;
        var token = link.Stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, token).ConfigureAwait(false);
                var oldest = link.OldestUnacknowledged();
                if (oldest != 0 && Environment.TickCount64 - oldest > (long)deadline.TotalMilliseconds)
                {
                    LoseLink(link, $"a publish to {Options.DisplayAddress} was not acknowledged within {deadline.TotalSeconds:0.###} s: the broker lost the flow; it is resent on the next connection", null, null, takenOver: false);
                    return;
                }

                if (keepAlive <= TimeSpan.Zero)
                {
                    continue;
                }

                using var answer = CancellationTokenSource.CreateLinkedTokenSource(token);
                answer.CancelAfter(keepAlive);
                await link.Client.PingAsync(answer.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // Any failure to get a PINGRESP in time means the link is unusable.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Interlocked.Increment(ref _deadConnectionsDetected);
                LogDeadConnection(_logger, Options.DisplayAddress, keepAlive.TotalSeconds, null);
                LoseLink(link, $"no answer to a ping from {Options.DisplayAddress} within the keep alive of {keepAlive.TotalSeconds:0.###} s: the connection is dead", null, e, takenOver: false);
                return;
            }
        }
    }

    private static readonly Action<ILogger, string, double, Exception?> LogDeadConnection =
        LoggerMessage.Define<string, double>(LogLevel.Warning, new EventId(5, "DeadConnection"),
            "MQTT {Address}: no PINGRESP within {KeepAlive} s; closing the dead connection and reconnecting.");
}
