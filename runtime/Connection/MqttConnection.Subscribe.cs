using System.Buffers;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;
using TypedMqtt.Dispatch;
using TypedMqtt.Topics;

namespace TypedMqtt;

public sealed partial class MqttConnection
{
    /// <summary>Subscribes to a filter with a raw handler that receives a copy of each payload.</summary>
    /// <param name="filter">The topic filter, wildcards allowed.</param>
    /// <param name="handler">Called in order, one message at a time, with the payload and its context.</param>
    /// <param name="options">QoS and MQTT 5 subscription options.</param>
    /// <param name="cancellationToken">Cancels the wait for SUBACK.</param>
    /// <returns>The subscription; dispose it to unsubscribe.</returns>
    public Task<MqttSubscription> SubscribeAsync(
        string filter,
        Func<ReadOnlyMemory<byte>, MqttMessageContext, CancellationToken, Task> handler,
        MqttSubscriptionOptions? options = null,
        CancellationToken cancellationToken = default) =>
        SubscribeAsync(filter, static (_, payload) => (ReadOnlyMemory<byte>)payload.ToArray(), handler, options, cancellationToken);

    /// <summary>
    /// Subscribes to a filter; each matching message is decoded on the receive path by <paramref name="decoder"/> and
    /// handed to <paramref name="handler"/> in order on the subscription's own worker. A decoder that throws sends the
    /// message to <see cref="MessageFailed"/> instead of the handler.
    /// </summary>
    /// <typeparam name="T">The decoded message.</typeparam>
    /// <param name="filter">The topic filter, wildcards allowed.</param>
    /// <param name="decoder">Turns topic and payload into <typeparamref name="T"/>.</param>
    /// <param name="handler">Called one message at a time.</param>
    /// <param name="options">QoS and MQTT 5 subscription options.</param>
    /// <param name="cancellationToken">Cancels the wait for SUBACK.</param>
    /// <returns>The subscription; dispose it to unsubscribe.</returns>
    /// <exception cref="ArgumentException">The filter or options are invalid.</exception>
    /// <exception cref="MqttOperationException">The broker refused the subscription.</exception>
    public Task<MqttSubscription> SubscribeAsync<T>(
        string filter,
        MqttPayloadDecoder<T> decoder,
        Func<T, MqttMessageContext, CancellationToken, Task> handler,
        MqttSubscriptionOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return SubscribeCoreAsync(filter, decoder, new MessageHandler<T>(handler), options, cancellationToken);
    }

    /// <summary>
    /// Subscribes to a filter with a handler that does not need the message's <see cref="MqttMessageContext"/>: none is
    /// built for it, which saves an allocation per message. Otherwise as the overload with the context.
    /// </summary>
    /// <typeparam name="T">The decoded message.</typeparam>
    /// <param name="filter">The topic filter, wildcards allowed.</param>
    /// <param name="decoder">Turns topic and payload into <typeparamref name="T"/>.</param>
    /// <param name="handler">Called one message at a time.</param>
    /// <param name="options">QoS and MQTT 5 subscription options.</param>
    /// <param name="cancellationToken">Cancels the wait for SUBACK.</param>
    /// <returns>The subscription; dispose it to unsubscribe.</returns>
    /// <exception cref="ArgumentException">The filter or options are invalid.</exception>
    /// <exception cref="MqttOperationException">The broker refused the subscription.</exception>
    public Task<MqttSubscription> SubscribeAsync<T>(
        string filter,
        MqttPayloadDecoder<T> decoder,
        Func<T, CancellationToken, Task> handler,
        MqttSubscriptionOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return SubscribeCoreAsync(filter, decoder, new MessageHandler<T>(handler), options, cancellationToken);
    }

    private async Task<MqttSubscription> SubscribeCoreAsync<T>(
        string filter,
        MqttPayloadDecoder<T> decoder,
        MessageHandler<T> handler,
        MqttSubscriptionOptions? options,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(decoder);
        options ??= MqttSubscriptionOptions.Default;
        var brokerFilter = ValidateSubscription(filter, options);

        var sink = new MessageSink<T>(brokerFilter, decoder, handler, options.BufferCapacity, options.MaxPayloadBytes ?? Options.MaxInboundPayloadBytes, ReportMessageError);
        var held = AddSubscription(brokerFilter, filter, options, sink, out var entry, out var mustSubscribe);
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
            catch
            {
                _subscriptions.Remove(entry, sink);
                await sink.StopAsync().ConfigureAwait(false);
                throw;
            }
        }

        return new MqttSubscription(this, entry, sink);
    }

    /// <summary>
    /// Sends SUBSCRIBE now, or, while the connection is down, on the next connection: a subscription declared offline is
    /// not lost, and the call completes (or fails with the broker's reason) once the broker has answered.
    /// </summary>
    private async Task SubscribeWhenConnectedAsync(SubscriptionRegistry.FilterEntry entry, CancellationToken cancellationToken)
    {
        while (true)
        {
            var link = _link ?? await WaitForLinkAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await SendSubscribeAsync(entry, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (MqttOperationException) when (_link != link && !_closing)
            {
                // The connection dropped while we asked; ask again on the next one.
            }
        }
    }

    private string ValidateSubscription(string filter, MqttSubscriptionOptions options)
    {
        var error = TopicRules.CheckTopicFilter(filter);
        if (error is not null)
        {
            throw new ArgumentException(error, nameof(filter));
        }

        if (options.Qos is < MqttQos.AtMostOnce or > MqttQos.ExactlyOnce)
        {
            throw new ArgumentException($"Subscription QoS {(int)options.Qos} is invalid; use 0, 1 or 2.", nameof(options));
        }

        if (options.UsesVersion5Features && Options.ProtocolVersion != MqttVersion.V500)
        {
            throw new ArgumentException($"No local, retain as published, retain handling and shared subscriptions are MQTT 5 features but the connection uses {MqttConnectionOptionsValidator.Describe(Options.ProtocolVersion)}.", nameof(options));
        }

        if (options.SharedGroup is null)
        {
            return filter;
        }

        var groupError = TopicRules.CheckShareName(options.SharedGroup);
        return groupError is not null ? throw new ArgumentException(groupError, nameof(options)) : $"$share/{options.SharedGroup}/{filter}";
    }

    private async Task SendSubscribeAsync(SubscriptionRegistry.FilterEntry entry, CancellationToken cancellationToken)
    {
        var options = entry.Options;
        var topicFilter = new MqttTopicFilterBuilder()
            .WithTopic(entry.Filter)
            .WithQualityOfServiceLevel((MqttQualityOfServiceLevel)(int)options.Qos)
            .WithNoLocal(options.NoLocal)
            .WithRetainAsPublished(options.RetainAsPublished)
            .WithRetainHandling((MQTTnet.Protocol.MqttRetainHandling)(int)options.RetainHandling)
            .Build();
        // No subscription identifier is requested: the topic trie routes as fast (measured in the benchmarks), and an
        // identifier makes MQTTnet allocate a list on every received message.
        var subscribe = new MqttClientSubscribeOptions { TopicFilters = [topicFilter] };

        MqttClientSubscribeResult result;
        try
        {
            var client = (_link?.Client) ?? throw new MqttClientNotConnectedException();
            result = await client.SubscribeAsync(subscribe, cancellationToken).ConfigureAwait(false);
        }
        catch (MqttClientNotConnectedException e)
        {
            throw new MqttOperationException($"Cannot subscribe to '{entry.Filter}': the connection to {Options.DisplayAddress} is {State}.", null, e);
        }
        catch (MqttCommunicationException e)
        {
            throw new MqttOperationException($"Subscribing to '{entry.Filter}' failed: {e.GetBaseException().Message}", null, e);
        }
        catch (Exception e) when (e is MqttProtocolViolationException or ArgumentOutOfRangeException or InvalidOperationException)
        {
            // MQTTnet throws these for a SUBACK that does not match the SUBSCRIBE (wrong count, no reason codes).
            var malformed = new MqttOperationException($"Subscribing to '{entry.Filter}' failed: the broker answered with a malformed SUBACK ({e.Message}). The connection is closed as a protocol error.", 0x82, e);
            if (_link is { } broken)
            {
                LoseLink(broken, "the broker sent a malformed SUBACK: " + e.Message, 0x82, e, takenOver: false);
            }

            throw malformed;
        }

        foreach (var item in result.Items)
        {
            if (item.ResultCode > MqttClientSubscribeResultCode.GrantedQoS2)
            {
                var serverSays = string.IsNullOrEmpty(result.ReasonString) ? string.Empty : $" The server said: \"{result.ReasonString}\".";
                throw new MqttOperationException($"The broker refused the subscription to '{entry.Filter}' with {item.ResultCode} (0x{(int)item.ResultCode:X2}).{serverSays}", (int)item.ResultCode);
            }
        }
    }

    internal async ValueTask UnsubscribeAsync(SubscriptionRegistry.FilterEntry entry, MessageSink sink)
    {
        if (_subscriptions.Remove(entry, sink) && _link is { } link && link.Client.IsConnected && !_closing)
        {
            try
            {
                var unsubscribe = new MqttClientUnsubscribeOptionsBuilder().WithTopicFilter(entry.Filter).Build();
                await link.Client.UnsubscribeAsync(unsubscribe, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is MqttCommunicationException or ObjectDisposedException or OperationCanceledException)
            {
                // The connection dropped (or stalled past MQTTnet's timeout) meanwhile; the filter is gone from the registry, so it will not be restored.
            }
        }

        await sink.StopAsync().ConfigureAwait(false);
    }

    private Task OnMessageReceivedAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var message = e.ApplicationMessage;
        // The topic needs no check here: Wire/InboundPacketValidator already closed the link on a PUBLISH whose topic has
        // a wildcard, U+0000, invalid UTF-8 or is empty, before MQTTnet decoded it.
        var sinks = _sinkScratch;
        sinks.Clear();
        CollectOrHold(message, sinks);
        if (sinks.Count == 0)
        {
            return Task.CompletedTask;
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

        return Task.CompletedTask;
    }

    // A full subscription buffer pauses the receive path here (back pressure) instead of dropping messages.
    private static async Task DeliverRestAsync(ValueTask pending, List<MessageSink> rest, MqttApplicationMessage message, MqttMessageContext? context)
    {
        await pending.ConfigureAwait(false);
        foreach (var sink in rest)
        {
            await sink.DeliverAsync(message.Topic, message.Payload, ContextFor(sink, message, ref context)).ConfigureAwait(false);
        }
    }

    /// <summary>The message's context for a sink whose handler takes one (built once per message, on first need); otherwise null.</summary>
    private static MqttMessageContext? ContextFor(MessageSink sink, MqttApplicationMessage message, ref MqttMessageContext? context) =>
        sink.NeedsContext ? context ??= CreateContext(message) : null;

    private static MqttMessageContext CreateContext(MqttApplicationMessage m) => new()
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
}
