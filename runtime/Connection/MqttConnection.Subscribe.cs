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
        return _router.SubscribeAsync(filter, decoder, new MessageHandler<T>(handler), options, cancellationToken);
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
        return _router.SubscribeAsync(filter, decoder, new MessageHandler<T>(handler), options, cancellationToken);
    }
}
