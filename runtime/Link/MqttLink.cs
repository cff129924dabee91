using System.Collections.Concurrent;
using MQTTnet.Adapter;
using MQTTnet.Exceptions;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using TypedMqtt.Session;

namespace TypedMqtt.Link;

/// <summary>What a link reports upward: received messages, acknowledgements of our publishes, and its end.</summary>
internal interface ILinkOwner
{
    /// <summary>A PUBLISH to deliver (its topic alias already resolved). The link acknowledges it when the task completes.</summary>
    ValueTask OnPublishReceivedAsync(MqttLink link, MqttPublishPacket packet);

    /// <summary>PUBACK, PUBREC or PUBCOMP for one of our publishes; returns the publish it completed successfully, for the link to complete.</summary>
    Delivery.PendingPublish? OnAcknowledgement(MqttLink link, MqttPacketWithIdentifier packet);

    /// <summary>The link ended (once).</summary>
    void OnLost(MqttLink link, LinkLoss loss);
}

/// <summary>Why a link ended.</summary>
/// <param name="Reason">A sentence for the state change.</param>
/// <param name="ReasonCode">The DISCONNECT or violation reason code, if any.</param>
/// <param name="Exception">The failure, if any.</param>
/// <param name="Cause">Who ended it.</param>
internal sealed record LinkLoss(string Reason, int? ReasonCode, Exception? Exception, LinkLossCause Cause)
{
    /// <summary>MQTT 5: the Server Reference of a DISCONNECT 0x9C / 0x9D (use another server, server moved).</summary>
    public string? ServerReference { get; init; }
}

internal enum LinkLossCause
{
    /// <summary>The broker sent DISCONNECT.</summary>
    ServerDisconnect,

    /// <summary>The broker closed the socket without DISCONNECT.</summary>
    ServerClosed,

    /// <summary>A read or write failed.</summary>
    Failure,

    /// <summary>No PINGRESP within the keep alive.</summary>
    KeepAlive,

    /// <summary>An acknowledgement did not come within the deadline.</summary>
    AcknowledgementDeadline,
}

/// <summary>Timing of one link: one keep-alive value (the server's if it set one, else ours) and what follows from it.</summary>
/// <param name="KeepAlive">Ping period basis; zero turns pinging off.</param>
/// <param name="AcknowledgementDeadline">How long a written publish may wait for its next acknowledgement.</param>
/// <param name="RequestTimeout">How long SUBSCRIBE and UNSUBSCRIBE wait for their answer.</param>
/// <param name="Version5">Whether the link speaks MQTT 5.</param>
/// <param name="TopicAliasMaximum">The most topic aliases the broker may use toward us.</param>
/// <param name="SubscriptionIdentifiers">Whether SUBSCRIBE carries subscription identifiers (MQTT 5, and the server supports them).</param>
/// <param name="ServerMaximumPacketSize">The largest packet the server accepts (its CONNACK's Maximum Packet Size), or null for no limit.</param>
/// <param name="CleanStart">Whether every connect starts a new session (the broker then never resends what a lost link received).</param>
internal sealed record LinkSettings(TimeSpan KeepAlive, TimeSpan AcknowledgementDeadline, TimeSpan RequestTimeout, bool Version5, ushort TopicAliasMaximum, bool SubscriptionIdentifiers, uint? ServerMaximumPacketSize = null, bool CleanStart = false)
{
    public static TimeSpan DeadlineFor(TimeSpan keepAlive, TimeSpan connectTimeout) =>
        TimeSpan.FromTicks(Math.Max(connectTimeout.Ticks, (keepAlive > TimeSpan.Zero ? keepAlive : TimeSpan.FromSeconds(30)).Ticks * 3 / 2));
}

/// <summary>
/// One network connection after CONNACK: MQTTnet's channel adapter (codec and transport) under TypedMqtt's own protocol
/// loop. It reads packets (PUBLISH goes to an ordered <see cref="DeliveryTurn"/>, which reading never waits for, so
/// acknowledgements and PINGRESP keep flowing while a handler runs or applies back pressure), answers the broker's QoS 1/2 flows, matches SUBACK/UNSUBACK/PINGRESP to their
/// requests, maps inbound topic aliases back to topics, pings every half keep alive and ends itself when a PINGRESP or
/// an acknowledgement is overdue. It never reconnects: its owner creates the next link.
/// </summary>
internal sealed partial class MqttLink
{
    private readonly IMqttChannelAdapter _adapter;
    private readonly ILinkOwner _owner;
    private readonly SessionState _session;
    private readonly LinkSettings _settings;
    // SUBSCRIBE and UNSUBSCRIBE waiting for their answers: few at a time, so a small table (the default holds 31 buckets).
    private readonly ConcurrentDictionary<ushort, TaskCompletionSource<MqttPacket>> _requests = new(concurrencyLevel: 1, capacity: 4);
    private readonly DeliveryTurn _delivery;
    private readonly Action _readCompleted;
    private ValueTask<MqttPacket?> _pendingRead;
    private readonly string?[] _aliases;
    private readonly int _receiveMaximum;
    private TaskCompletionSource? _pingAnswer;
    private Reauthentication? _reauthentication;
    private int _lost;
    private ReadingThread? _readingThread;

    public MqttLink(IMqttChannelAdapter adapter, LinkSettings settings, int number, SessionState session, ILinkOwner owner, int receiveMaximum, OutboundTopicAliases? outboundAliases = null, Task? previousDelivered = null, CancellationToken closed = default)
    {
        OutboundAliases = outboundAliases;
        _adapter = adapter;
        _settings = settings;
        _session = session;
        _owner = owner;
        Number = number;
        _receiveMaximum = receiveMaximum;
        InFlight = new SemaphoreSlim(receiveMaximum, receiveMaximum);
        _aliases = new string?[settings.TopicAliasMaximum + 1];
        _delivery = new DeliveryTurn(ReceiveAsync, previousDelivered, closed);
        _readCompleted = OnReadCompleted;
    }

    /// <summary>Topic aliases this link assigns to what it publishes (MQTT 5, when the server allows them), else null.</summary>
    public OutboundTopicAliases? OutboundAliases { get; }

    /// <summary>1 for the first connection, 2 for the first reconnect...</summary>
    public int Number { get; }

    public LinkSettings Settings => _settings;

    /// <summary>Cancelled when this link is lost or closed.</summary>
    public CancellationTokenSource Stop { get; } = new();

    /// <summary>QoS 1/2 publishes awaiting acknowledgement may not exceed the server's receive maximum.</summary>
    public SemaphoreSlim InFlight { get; }

    /// <summary>How many in-flight slots are taken now.</summary>
    public int InFlightCount => _receiveMaximum - InFlight.CurrentCount;

    public bool IsLost => Volatile.Read(ref _lost) != 0;

    /// <summary>Completes once the link has ended and its last received message was delivered (or dropped by a close).</summary>
    public Task Delivered => _delivery.Drained;

    /// <summary>
    /// Starts reading and the watchdog loop (after CONNACK). A link whose channel reads blocking
    /// (<see cref="MqttConnectionOptions.DedicatedReadingThread"/>) reads on a thread of its own (<see cref="ReadingThread"/>).
    /// </summary>
    public void Start()
    {
        if (_adapter is Wire.ValidatingAdapter { Channel.ReadsBlocking: true })
        {
            _readingThread = new ReadingThread(ReadOnOwnThread, "MQTT reader");
            _readingThread.Start();
        }
        else
        {
            // Both start on the thread pool (no Task.Run: its proxy task would stay alive as long as the loop).
            ThreadPool.UnsafeQueueUserWorkItem(static link => link.ReadOn(default, completed: false), this, preferLocal: false);
        }

        _ = WatchdogAsync();
    }

    /// <summary>The link's own reading thread, when it has one.</summary>
    internal ReadingThread? ReadingThread => _readingThread;

    /// <summary>Writes a packet; a failure ends the link and is rethrown.</summary>
    public async ValueTask SendAsync(MqttPacket packet, CancellationToken cancellationToken = default)
    {
        var newAlias = OutboundAliases is not null && packet is MqttPublishPacket publish ? OutboundAliases.Apply(publish) : null;
        try
        {
            await _adapter.SendPacketAsync(packet, cancellationToken).ConfigureAwait(false);
            if (newAlias is not null)
            {
                OutboundTopicAliases.Confirm(newAlias);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Lose(new LinkLoss($"writing to the broker failed: {e.GetBaseException().Message}", null, e, LinkLossCause.Failure));
            throw;
        }
    }

    /// <summary>Re-authenticates this connection (MQTT 5 §4.12.1); see <see cref="Reauthentication"/>. One at a time.</summary>
    public async Task ReauthenticateAsync(IMqttAuthenticator authenticator, CancellationToken cancellationToken)
    {
        var exchange = new Reauthentication(authenticator, this);
        if (Interlocked.CompareExchange(ref _reauthentication, exchange, null) is not null)
        {
            throw new InvalidOperationException("A re-authentication is already running on this connection; wait for it to finish.");
        }

        try
        {
            await exchange.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.CompareExchange(ref _reauthentication, null, exchange);
        }
    }

    /// <summary>Sends SUBSCRIBE or UNSUBSCRIBE and waits for its answer (bounded by <paramref name="timeout"/>, else the request timeout).</summary>
    public async Task<TAnswer> RequestAsync<TAnswer>(MqttPacketWithIdentifier request, CancellationToken cancellationToken, TimeSpan? timeout = null)
        where TAnswer : MqttPacket
    {
        var id = _session.BeginRequest();
        request.PacketIdentifier = id;
        var answer = new TaskCompletionSource<MqttPacket>(TaskCreationOptions.RunContinuationsAsynchronously);
        _requests[id] = answer;
        try
        {
            if (IsLost)
            {
                throw new MqttCommunicationException("The connection was lost.");
            }

            await SendAsync(request, cancellationToken).ConfigureAwait(false);
            var packet = await answer.Task.WaitAsync(timeout ?? _settings.RequestTimeout, cancellationToken).ConfigureAwait(false);
            return packet as TAnswer ?? throw new MqttProtocolViolationException($"The broker answered {request.GetType().Name} with {packet.GetType().Name}.");
        }
        catch (TimeoutException e)
        {
            throw new MqttCommunicationTimedOutException(e);
        }
        finally
        {
            _requests.TryRemove(id, out _);
            _session.EndRequest(id);
        }
    }

    /// <summary>
    /// Writes DISCONNECT (bounded by <paramref name="bound"/>), then closes the socket gracefully; the link ends without
    /// reporting a loss. Returns why DISCONNECT could not be written (the socket is closed anyway), or null.
    /// </summary>
    public async Task<Exception?> DisconnectAsync(MqttDisconnectPacket? disconnect, TimeSpan bound, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _lost, 1) != 0)
        {
            return null;
        }

        await Stop.CancelAsync().ConfigureAwait(false);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(bound);
        // A synchronous write (a link with its own reading thread) does not see the token: closing the socket ends it.
        using var abort = bounded.Token.UnsafeRegister(static a => ((IMqttChannelAdapter)a!).Dispose(), _adapter);
        try
        {
            if (disconnect is not null)
            {
                await _adapter.SendPacketAsync(disconnect, bounded.Token).ConfigureAwait(false);
                await _adapter.DisconnectAsync(bounded.Token).ConfigureAwait(false);
            }

            return null;
        }
        catch (Exception e) when (e is OperationCanceledException or MqttCommunicationException or ObjectDisposedException or IOException)
        {
            // A frozen peer with a full send buffer, or a socket already gone: closing it is all that is left.
            return e;
        }
        finally
        {
            FailRequests(new MqttCommunicationException("The connection was closed."));
            _delivery.Abandon();
            _adapter.Dispose();
        }
    }

    /// <summary>Ends the link once: stops its loops, fails its requests, resets the socket and tells the owner.</summary>
    public void Lose(LinkLoss loss)
    {
        if (Interlocked.Exchange(ref _lost, 1) != 0)
        {
            return;
        }

        Stop.Cancel();
        FailRequests(new MqttCommunicationException("The connection was lost: " + loss.Reason));
        _delivery.Complete();

        // Not on this thread: the adapter may be inside a read or write of the caller.
        _ = Task.Run(_adapter.Dispose);
        _owner.OnLost(this, loss);
    }

    private void FailRequests(Exception e)
    {
        foreach (var request in _requests.Values)
        {
            request.TrySetException(e);
        }

        Volatile.Read(ref _pingAnswer)?.TrySetException(e);
    }

    /// <summary>Handles one packet from the broker; false when the link ended. <paramref name="left"/>: what it leaves to the reading thread.</summary>
    private bool Dispatch(MqttPacket packet, out LeftToReader left)
    {
        left = default;
        switch (packet)
        {
            case MqttPublishPacket publish:
                if (publish.TopicAlias != 0)
                {
                    // The validator already refused an alias above our maximum or one the broker never set.
                    if (string.IsNullOrEmpty(publish.Topic))
                    {
                        publish.Topic = _aliases[publish.TopicAlias]!;
                    }
                    else
                    {
                        _aliases[publish.TopicAlias] = publish.Topic;
                    }
                }

                left = new LeftToReader(_delivery.Add(publish), null);
                return true;
            case MqttPubAckPacket or MqttPubRecPacket or MqttPubCompPacket:
                left = new LeftToReader(false, _owner.OnAcknowledgement(this, (MqttPacketWithIdentifier)packet));
                return true;
            case MqttPubRelPacket release:
                var known = _session.ReleaseInbound(release.PacketIdentifier);
                _ = SendQuietlyAsync(new MqttPubCompPacket
                {
                    PacketIdentifier = release.PacketIdentifier,
                    ReasonCode = known || !_settings.Version5 ? MqttPubCompReasonCode.Success : MqttPubCompReasonCode.PacketIdentifierNotFound,
                });
                return true;
            case MqttAuthPacket auth when Volatile.Read(ref _reauthentication) is { } exchange:
                _ = exchange.AnswerAsync(auth);
                return true;
            case MqttSubAckPacket or MqttUnsubAckPacket:
                var id = ((MqttPacketWithIdentifier)packet).PacketIdentifier;
                if (_requests.TryGetValue(id, out var request))
                {
                    request.TrySetResult(packet);
                }

                return true;
            case MqttPingRespPacket:
                Volatile.Read(ref _pingAnswer)?.TrySetResult();
                return true;
            case MqttDisconnectPacket disconnect:
                var code = (int)disconnect.ReasonCode;
                var says = string.IsNullOrEmpty(disconnect.ReasonString) ? string.Empty : $" (\"{disconnect.ReasonString}\")";
                var what = code == 0 ? "the broker sent DISCONNECT 0x00 (normal disconnection) and closed the connection" : MqttReasonText.ForDisconnect(code);
                var reference = string.IsNullOrEmpty(disconnect.ServerReference) ? null : disconnect.ServerReference;
                var pointsTo = reference is null ? string.Empty : $", pointing to \"{reference}\"";
                Lose(new LinkLoss(what + says + pointsTo, code == 0 ? null : code, null, LinkLossCause.ServerDisconnect) { ServerReference = reference });
                return false;
            default:
                Lose(new LinkLoss($"the connection was closed: the broker sent an unexpected {packet.GetType().Name}", 0x82, null, LinkLossCause.Failure));
                return false;
        }
    }

    /// <summary>
    /// Delivers one received message (in order, on the thread holding the delivery turn) and acknowledges it once its
    /// handlers have it. After the link is lost, what it received whole is still delivered but not acknowledged: QoS 0
    /// and QoS 1 (a broker that keeps the session resends the QoS 1 message, a duplicate QoS 1 allows; one that does
    /// not would otherwise lose it). QoS 2 only with a clean start, where the broker can never resend it: with a kept
    /// session exactly once needs the receipt recorded and answered with PUBREC, and the next link may already have
    /// started a new session, so it is left to the broker's resend.
    /// </summary>
    private async ValueTask ReceiveAsync(MqttPublishPacket publish)
    {
        switch (publish.QualityOfServiceLevel)
        {
            case MqttQualityOfServiceLevel.AtMostOnce:
                await _owner.OnPublishReceivedAsync(this, publish).ConfigureAwait(false);
                break;
            case MqttQualityOfServiceLevel.AtLeastOnce:
                await _owner.OnPublishReceivedAsync(this, publish).ConfigureAwait(false);
                await AcknowledgeAsync(new MqttPubAckPacket { PacketIdentifier = publish.PacketIdentifier }).ConfigureAwait(false);
                break;
            default:
                if (IsLost)
                {
                    if (_settings.CleanStart)
                    {
                        await _owner.OnPublishReceivedAsync(this, publish).ConfigureAwait(false);
                    }

                    break;
                }

                // Exactly once: a PUBLISH whose identifier is still held (received, not yet released) is a resend of a
                // message the handlers already have; it is acknowledged again but not delivered again.
                if (_session.ReceiveExactlyOnce(publish.PacketIdentifier, publish.Dup, MessageFingerprint.Of(publish.Topic, publish.Payload)))
                {
                    await _owner.OnPublishReceivedAsync(this, publish).ConfigureAwait(false);
                }

                await AcknowledgeAsync(new MqttPubRecPacket { PacketIdentifier = publish.PacketIdentifier }).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>Writes an acknowledgement while the link lives; once it is lost (before or during the write) there is no one to tell.</summary>
    private ValueTask AcknowledgeAsync(MqttPacket acknowledgement)
    {
        if (IsLost)
        {
            return default;
        }

        var send = SendAsync(acknowledgement);
        return send.IsCompletedSuccessfully ? default : AwaitAcknowledgementAsync(send);
    }

    private async ValueTask AwaitAcknowledgementAsync(ValueTask send)
    {
        try
        {
            await send.ConfigureAwait(false);
        }
        catch (Exception) when (IsLost)
        {
            // SendAsync ended the link; the rest of what it received is still delivered.
        }
    }

    internal async Task SendQuietlyAsync(MqttPacket packet)
    {
        try
        {
            await SendAsync(packet).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The failure already ended the link.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>
    /// Pings every half keep alive and ends the link when no PINGRESP comes within one keep alive (writes into a half-open
    /// socket succeed until its buffer fills, so only an answer proves the link alive), or when a written publish has
    /// waited longer than the acknowledgement deadline for its next answer (a broker that lost the flow): it is then
    /// resent on the next link.
    /// </summary>
    private async Task WatchdogAsync()
    {
        await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding); // runs on the thread pool from here
        var keepAlive = _settings.KeepAlive;
        var deadline = _settings.AcknowledgementDeadline;
        var interval = keepAlive > TimeSpan.Zero
            ? TimeSpan.FromTicks(Math.Max(keepAlive.Ticks / 2, TimeSpan.FromMilliseconds(100).Ticks))
            : deadline / 4;
        var token = Stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, token).ConfigureAwait(false);
                var oldest = _session.OldestUnanswered(Number);
                if (oldest != 0 && Environment.TickCount64 - oldest > (long)deadline.TotalMilliseconds)
                {
                    Lose(new LinkLoss($"a publish was not acknowledged within {deadline.TotalSeconds:0.###} s: the broker lost the flow; it is resent on the next connection", null, null, LinkLossCause.AcknowledgementDeadline));
                    return;
                }

                if (keepAlive <= TimeSpan.Zero)
                {
                    continue;
                }

                var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref _pingAnswer, answer);
                await SendAsync(MqttPingReqPacket.Instance, token).ConfigureAwait(false);
                await answer.Task.WaitAsync(keepAlive, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // Any failure to get a PINGRESP in time means the link is unusable.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Lose(new LinkLoss($"no answer to a ping within the keep alive of {keepAlive.TotalSeconds:0.###} s: the connection is dead", null, e, LinkLossCause.KeepAlive));
                return;
            }
        }
    }
}
