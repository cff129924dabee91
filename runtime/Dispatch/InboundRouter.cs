using System.Buffers;
using MQTTnet.Exceptions;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using TypedMqtt.Delivery;
using TypedMqtt.Link;

namespace TypedMqtt.Dispatch;

/// <summary>What the router needs to know of the connection's options.</summary>
/// <param name="Version">The protocol version (MQTT 5 features are refused on older ones).</param>
/// <param name="CleanStart">Whether each connect starts a clean session (then no messages are held).</param>
/// <param name="ConnectTimeout">How long a connect may take (messages are held from its start).</param>
/// <param name="MaxInboundPayloadBytes">The largest payload a subscription decodes, unless it sets its own.</param>
/// <param name="ReportError">Where a message that failed to decode, or whose handler threw, is reported.</param>
internal sealed record RouterSettings(MqttVersion Version, bool CleanStart, TimeSpan ConnectTimeout, long MaxInboundPayloadBytes, Action<MqttMessageErrorEventArgs> ReportError);

/// <summary>
/// Inbound messages and the subscriptions they are routed by: keeps the registry of local subscriptions, asks the broker
/// for them (SUBSCRIBE/UNSUBSCRIBE on a link, again after a reconnect without a session), and hands every received
/// PUBLISH to the sinks whose filters match it. Messages a resumed session delivers before the application subscribed
/// again are held for a short while and given to the first subscription that matches them.
/// </summary>
internal sealed class InboundRouter
{
    // A resumed session (clean start false) delivers the messages queued while the client was away right after CONNACK,
    // before the application had a chance to call SubscribeAsync again. Without a local subscription those messages were
    // acknowledged and dropped. They are held here instead (bounded, for a short while after a session-present CONNACK).
    private const int MaxHeldMessages = 4096;
    private static readonly TimeSpan HoldWindow = TimeSpan.FromSeconds(30);

    private readonly SubscriptionRegistry _subscriptions = new();
    private readonly List<SubscriptionRegistry.FilterEntry> _entryScratch = [];

    // Per thread, though links route one after the other (a link's delivery turn starts when the last link's drained):
    // kept so because a thread-static list costs nothing and survives any future overlap.
    [ThreadStatic]
    private static List<MessageSink>? _sinkScratch;
    private readonly object _gate = new();
    private readonly LinkedList<HeldMessage> _held = new();
    private readonly RouterSettings _settings;
    private readonly LinkHolder _links;
    private long _holdUntil;

    public InboundRouter(RouterSettings settings, LinkHolder links)
    {
        _settings = settings;
        _links = links;
    }

    /// <summary>The registry (for benchmarks and tests that measure routing).</summary>
    internal SubscriptionRegistry Registry => _subscriptions;

    /// <summary>Holding starts with the connect attempt: the first queued messages may arrive right after CONNACK.</summary>
    public void OnConnectStarting()
    {
        lock (_gate)
        {
            _holdUntil = _settings.CleanStart ? 0 : Environment.TickCount64 + (long)(_settings.ConnectTimeout + HoldWindow).TotalMilliseconds;
        }
    }

    public void OnConnectAcknowledged(bool sessionPresent)
    {
        lock (_gate)
        {
            _holdUntil = sessionPresent ? Environment.TickCount64 + (long)HoldWindow.TotalMilliseconds : 0;
        }
    }

    /// <summary>Hands a received message to every matching sink, in order; a full sink pauses the caller (back pressure).</summary>
    public ValueTask RouteAsync(MqttPublishPacket message)
    {
        // The topic needs no check here: Wire/InboundPacketValidator already closed the link on a PUBLISH whose topic has
        // a wildcard, U+0000, invalid UTF-8 or is empty, before MQTTnet decoded it.
        var sinks = _sinkScratch ??= [];
        sinks.Clear();
        CollectOrHold(message, sinks);
        if (sinks.Count == 0)
        {
            return ValueTask.CompletedTask;
        }

        // The context is built once, and only when a handler takes it.
        MqttMessageContext? context = null;
        for (var i = 0; i < sinks.Count; i++)
        {
            var sink = sinks[i];
            var delivery = sink.DeliverAsync(message.Topic, message.Payload, ContextFor(sink, message, ref context));
            if (!delivery.IsCompletedSuccessfully)
            {
                return DeliverRestAsync(delivery, sinks.GetRange(i + 1, sinks.Count - i - 1), message, context);
            }
        }

        return ValueTask.CompletedTask;
    }

    private static async ValueTask DeliverRestAsync(ValueTask pending, List<MessageSink> rest, MqttPublishPacket message, MqttMessageContext? context)
    {
        await pending.ConfigureAwait(false);
        foreach (var sink in rest)
        {
            await sink.DeliverAsync(message.Topic, message.Payload, ContextFor(sink, message, ref context)).ConfigureAwait(false);
        }
    }

    private static MqttMessageContext? ContextFor(MessageSink sink, MqttPublishPacket message, ref MqttMessageContext? context) =>
        sink.NeedsContext || Diagnostics.MqttTelemetry.Source.HasListeners() ? context ??= CreateContext(message) : null; // a process span reads the trace context from it

    /// <summary>The context a handler sees for a received PUBLISH.</summary>
    internal static MqttMessageContext CreateContext(MqttPublishPacket m) => new()
    {
        Topic = m.Topic,
        Qos = (MqttQos)(int)m.QualityOfServiceLevel,
        Retain = m.Retain,
        Duplicate = m.Dup,
        ContentType = m.ContentType,
        PayloadFormat = (MqttPayloadFormat)(int)m.PayloadFormatIndicator,
        MessageExpiryInterval = m.MessageExpiryInterval == 0 ? null : m.MessageExpiryInterval,
        ResponseTopic = m.ResponseTopic,
        CorrelationData = m.CorrelationData ?? ReadOnlyMemory<byte>.Empty,
        UserProperties = MqttnetConversions.ToUserProperties(m.UserProperties),
        SubscriptionIdentifiers = m.SubscriptionIdentifiers is { Count: > 0 } ids ? ids : [],
        TopicAlias = m.TopicAlias,
    };

    private void CollectOrHold(MqttPublishPacket message, List<MessageSink> sinks)
    {
        lock (_gate)
        {
            if (message.SubscriptionIdentifiers is { Count: > 0 } identifiers)
            {
                _subscriptions.CollectByIdentifiers(identifiers, sinks);
            }
            else
            {
                _subscriptions.Collect(message.Topic, _entryScratch, sinks);
            }

            if (sinks.Count > 0 || Environment.TickCount64 >= _holdUntil)
            {
                return;
            }

            if (_held.Count >= MaxHeldMessages)
            {
                _held.RemoveFirst();
            }

            _held.AddLast(new HeldMessage(message.Topic, new ReadOnlySequence<byte>(message.Payload.ToArray()), CreateContext(message), Environment.TickCount64));
        }
    }

    /// <summary>Adds a subscription and, atomically with it, takes the held messages it matches (in arrival order).</summary>
    public List<HeldMessage>? Add(string brokerFilter, string filter, MqttSubscriptionOptions options, MessageSink sink, out SubscriptionRegistry.FilterEntry entry, out bool mustSubscribe)
    {
        lock (_gate)
        {
            entry = _subscriptions.Add(brokerFilter, filter, options, sink, out mustSubscribe);
            if (_held.Count == 0)
            {
                return null;
            }

            var matcher = new TopicTrie<string>();
            matcher.Add(filter, filter);
            var matches = new List<string>(1);
            var oldest = Environment.TickCount64 - (long)HoldWindow.TotalMilliseconds;
            List<HeldMessage>? taken = null;
            for (var node = _held.First; node is not null;)
            {
                var next = node.Next;
                matches.Clear();
                if (node.Value.ReceivedAt < oldest)
                {
                    _held.Remove(node);
                }
                else
                {
                    matcher.Match(node.Value.Topic, matches);
                    if (matches.Count > 0)
                    {
                        (taken ??= []).Add(node.Value);
                        _held.Remove(node);
                    }
                }

                node = next;
            }

            return taken;
        }
    }

    /// <summary>
    /// Adds a local subscription (handing it the held messages it matches) and, when the broker must be told, subscribes
    /// now or on the next link; returns the subscription, whose disposal unsubscribes.
    /// </summary>
    public async Task<MqttSubscription> SubscribeAsync<T>(
        string filter,
        MqttPayloadDecoder<T> decoder,
        MessageHandler<T> handler,
        MqttSubscriptionOptions? options,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(decoder);
        options ??= MqttSubscriptionOptions.Default;
        var brokerFilter = SubscriptionRules.BrokerFilter(filter, options, _settings.Version);

        var sink = new MessageSink<T>(brokerFilter, decoder, handler, options.BufferCapacity, options.MaxPayloadBytes ?? _settings.MaxInboundPayloadBytes, _settings.ReportError);
        var held = Add(brokerFilter, filter, options, sink, out var entry, out var mustSubscribe);
        if (held is not null)
        {
            foreach (var message in held)
            {
                await sink.DeliverAsync(message.Topic, message.Payload, message.Context).ConfigureAwait(false);
            }
        }

        if (mustSubscribe)
        {
            try
            {
                await SubscribeWhenConnectedAsync(entry, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Refused (by the broker, or locally before it was sent): the broker holds nothing to unsubscribe. Cancelled
                // or lost: it may hold the filter, which is unsubscribed now or on the session's next link.
                if (_subscriptions.Remove(entry, sink, brokerHoldsNone: e is MqttOperationException { ReasonCode: not null }))
                {
                    _ = UnsubscribeGoneAsync(entry.Filter);
                }

                await sink.StopAsync().ConfigureAwait(false);
                throw;
            }
        }

        // From here a failure to subscribe the filter again after a reconnect is this subscription's to report
        // (SubscriptionFailed); until here the call's exception says it.
        sink.Established = true;
        return new MqttSubscription(UnsubscribeAsync, entry, sink);
    }

    /// <summary>
    /// Sends SUBSCRIBE now, or, while the connection is down, on the next connection: a subscription declared offline is
    /// not lost, and the call completes (or fails with the broker's reason) once the broker has answered.
    /// </summary>
    private async Task SubscribeWhenConnectedAsync(SubscriptionRegistry.FilterEntry entry, CancellationToken cancellationToken)
    {
        while (true)
        {
            var link = await _links.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                // A restore that included this filter has sent its SUBSCRIBE on this link already: its answer is ours.
                await (entry.RestoredOn(link)?.WaitAsync(cancellationToken) ?? SubscribeAsync(link, entry, cancellationToken)).ConfigureAwait(false);
                return;
            }
#pragma warning disable CA1031 // However the lost link failed the SUBSCRIBE, the next link is asked.
            catch (Exception) when (link.IsLost)
#pragma warning restore CA1031
            {
                // The connection dropped while we asked; ask again on the next one.
            }
        }
    }

    private async ValueTask UnsubscribeAsync(SubscriptionRegistry.FilterEntry entry, MessageSink sink)
    {
        if (_subscriptions.Remove(entry, sink))
        {
            await UnsubscribeGoneAsync(entry.Filter).ConfigureAwait(false);
        }

        await sink.StopAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Unsubscribes a filter whose last subscription went, on the ready link. Without one (the connection is down, or a
    /// new link is not ready yet) it stays recorded as gone, and the session's next link unsubscribes it (see
    /// <see cref="RestoreAsync"/> and <see cref="OnReady"/>): the broker of a kept session stops sending it.
    /// </summary>
    private Task UnsubscribeGoneAsync(string filter)
    {
        // Recorded as gone before the link is read: a link made ready after this read takes it in OnReady. Taken and
        // handed to the link under the lock Add takes: a subscription to the same filter declared meanwhile either took
        // it from the gone filters first (its SUBSCRIBE replaces the broker's, no UNSUBSCRIBE goes), or sends its
        // SUBSCRIBE after this UNSUBSCRIBE (the link's send lock is first come, first served).
        lock (_gate)
        {
            return _links.Ready is { } link && _subscriptions.TakeGone(filter) ? SendUnsubscribeAsync(link, filter) : Task.CompletedTask;
        }
    }

    /// <summary>Sends UNSUBSCRIBE (never faults); lost with the link (or stalled past the request timeout), the filter is gone again for the next link.</summary>
    private async Task SendUnsubscribeAsync(MqttLink link, string filter)
    {
        if (link.Settings.ServerMaximumPacketSize is { } maximum && PacketSizes.Unsubscribe(filter, link.Settings.Version5) > maximum)
        {
            // MQTT-3.2.2-15: never sent. Its SUBSCRIBE is larger still, so no connection to this server could have made it.
            return;
        }

        try
        {
            await link.RequestAsync<MqttUnsubAckPacket>(new MqttUnsubscribePacket { TopicFilters = [filter] }, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MqttCommunicationException or MqttProtocolViolationException or ObjectDisposedException or OperationCanceledException)
        {
            _subscriptions.StillGone(filter);
            if (_links.Ready is { } next && next != link)
            {
                // The answer was awaited past the next link's restore (a request timeout): that link unsubscribes it now.
                await UnsubscribeGoneAsync(filter).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Sends SUBSCRIBE for one filter on <paramref name="link"/> (with the filter's subscription identifier where the
    /// server supports them) and checks the broker's answer.
    /// </summary>
    public static async Task SubscribeAsync(MqttLink link, SubscriptionRegistry.FilterEntry entry, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        // The version first: an upgrade made meanwhile leaves the filter unconfirmed, never the reverse.
        var version = entry.Version;
        var options = entry.Options;
        var identifier = link.Settings.SubscriptionIdentifiers ? entry.Identifier : 0;
        if (link.Settings.ServerMaximumPacketSize is { } maximum && PacketSizes.Subscribe(entry.Filter, identifier, link.Settings.Version5) is var size && size > maximum)
        {
            // MQTT-3.2.2-15: the server would close the connection over it.
            throw new MqttOperationException(
                $"Subscribing to '{entry.Filter}' is refused locally: the SUBSCRIBE would be {size} bytes, {size - maximum} more than the server's maximum packet size of {maximum} bytes. Use a shorter topic filter.",
                0x95);
        }

        var subscribe = new MqttSubscribePacket
        {
            SubscriptionIdentifier = identifier,
            TopicFilters =
            [
                new MqttTopicFilter
                {
                    Topic = entry.Filter,
                    QualityOfServiceLevel = (MqttQualityOfServiceLevel)(int)options.Qos,
                    NoLocal = options.NoLocal,
                    RetainAsPublished = options.RetainAsPublished,
                    RetainHandling = (MQTTnet.Protocol.MqttRetainHandling)(int)options.RetainHandling,
                },
            ],
        };

        MqttSubAckPacket answer;
        try
        {
            answer = await link.RequestAsync<MqttSubAckPacket>(subscribe, cancellationToken, timeout).ConfigureAwait(false);
        }
        catch (MqttCommunicationException e)
        {
            throw new MqttOperationException($"Subscribing to '{entry.Filter}' failed: {e.GetBaseException().Message}", null, e);
        }
        catch (MqttProtocolViolationException e)
        {
            throw Malformed(link, entry, e.Message);
        }

        if (answer.ReasonCodes is not { Count: 1 } codes)
        {
            throw Malformed(link, entry, $"it holds {answer.ReasonCodes?.Count ?? 0} reason codes for 1 topic filter");
        }

        var code = (int)codes[0];
        if (code > 2)
        {
            var serverSays = string.IsNullOrEmpty(answer.ReasonString) ? string.Empty : $" The server said: \"{answer.ReasonString}\".";
            throw new MqttOperationException($"The broker refused the subscription to '{entry.Filter}' with {codes[0]} (0x{code:X2}).{serverSays}", code);
        }

        entry.Confirm(version);
    }

    private static MqttOperationException Malformed(MqttLink link, SubscriptionRegistry.FilterEntry entry, string why)
    {
        link.Lose(new LinkLoss("the broker sent a malformed SUBACK: " + why, 0x82, null, LinkLossCause.Failure));
        return new MqttOperationException($"Subscribing to '{entry.Filter}' failed: the broker answered with a malformed SUBACK ({why}). The connection is closed as a protocol error.", 0x82);
    }

    /// <summary>
    /// Brings a new link's session up to date before the link takes other writes, every packet handed to the link before
    /// this returns. Without a session every filter is subscribed again; with one, each filter that went meanwhile is
    /// unsubscribed, then the filters the session has not confirmed (declared or upgraded while offline, or unanswered
    /// when the last link dropped) are subscribed. Refusals go to <paramref name="failed"/>. See <see cref="SubscriptionRestore"/>.
    /// </summary>
    public Task RestoreAsync(MqttLink link, bool sessionPresent, Action<string, Exception> failed, CancellationToken cancellationToken)
    {
        var subscribe = _subscriptions.ForNewLink(sessionPresent);
        UnsubscribeGone(link);
        return SubscriptionRestore.Start(subscribe, link, failed, cancellationToken);
    }

    /// <summary>The link is ready: unsubscribes what went between <see cref="RestoreAsync"/> and now (nobody else saw a ready link).</summary>
    public void OnReady(MqttLink link)
    {
        if (_links.Ready == link)
        {
            UnsubscribeGone(link);
        }
    }

    /// <summary>Hands an UNSUBSCRIBE for every gone filter to <paramref name="link"/>, under the lock Add takes (see <see cref="UnsubscribeGoneAsync"/>).</summary>
    private void UnsubscribeGone(MqttLink link)
    {
        lock (_gate)
        {
            foreach (var filter in _subscriptions.TakeGone())
            {
                _ = SendUnsubscribeAsync(link, filter);
            }
        }
    }

    /// <summary>Stops every sink and forgets held messages (the connection is disposed).</summary>
    public async Task StopAllAsync()
    {
        foreach (var entry in _subscriptions.Snapshot())
        {
            foreach (var sink in entry.Sinks)
            {
                await sink.StopAsync().ConfigureAwait(false);
            }
        }

        lock (_gate)
        {
            _held.Clear();
        }
    }

    internal sealed record HeldMessage(string Topic, ReadOnlySequence<byte> Payload, MqttMessageContext Context, long ReceivedAt);
}
