using System.Buffers;
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
        var held = _router.Add(brokerFilter, filter, options, sink, out var entry, out var mustSubscribe);
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
                _router.Remove(entry, sink);
                await sink.StopAsync().ConfigureAwait(false);
                throw;
            }
        }

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
            ObjectDisposedException.ThrowIf(_closing, this);
            var link = await _links.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await InboundRouter.SubscribeAsync(link, entry, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (MqttOperationException) when (link.IsLost && !_closing)
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

    private async ValueTask UnsubscribeAsync(SubscriptionRegistry.FilterEntry entry, MessageSink sink)
    {
        if (_router.Remove(entry, sink) && _links.Ready is { } link && !_closing)
        {
            await InboundRouter.UnsubscribeAsync(link, entry.Filter).ConfigureAwait(false);
        }

        await sink.StopAsync().ConfigureAwait(false);
    }
}
