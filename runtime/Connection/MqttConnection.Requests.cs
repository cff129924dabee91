using TypedMqtt.Requests;

namespace TypedMqtt;

public sealed partial class MqttConnection
{
    /// <summary>
    /// MQTT 5 request/response, requester side: publishes <paramref name="request"/> to <paramref name="topic"/> with this
    /// connection's response topic and fresh correlation data, and returns the matching reply. The first request subscribes
    /// to the response topic (<c>{Response Information}/responses</c> when the server gave Response Information, else
    /// <c>{ResponseTopicPrefix}/{client id}</c>); every later one shares that subscription. A request outlives a reconnect:
    /// it is queued or resent like any publish of its QoS and keeps waiting until its timeout.
    /// </summary>
    /// <typeparam name="TRequest">The request payload type.</typeparam>
    /// <typeparam name="TReply">The reply payload type.</typeparam>
    /// <param name="topic">The request topic.</param>
    /// <param name="request">The request; <see langword="null"/> sends an empty payload.</param>
    /// <param name="requestCodec">How to encode the request.</param>
    /// <param name="replyCodec">How to decode the reply.</param>
    /// <param name="qos">QoS of the request. Default 1.</param>
    /// <param name="properties">Further MQTT 5 properties of the request (its response topic and correlation data are set here).</param>
    /// <param name="timeout">How long to wait for the reply, sending included; <see langword="null"/> takes <see cref="MqttConnectionOptions.RequestTimeout"/>.</param>
    /// <param name="cancellationToken">Cancels the wait (a reply that comes later is dropped and counted).</param>
    /// <param name="topicTemplate">The request's topic template, naming its span and metrics; <see langword="null"/> uses the topic.</param>
    /// <returns>The decoded reply.</returns>
    /// <exception cref="MqttRequestTimeoutException">No reply came in time.</exception>
    /// <exception cref="MqttRequestException">The responder failed (its handler threw, or it could not decode the request), or the reply could not be decoded.</exception>
    /// <exception cref="NotSupportedException">The connection is not MQTT 5.</exception>
    public Task<TReply> RequestAsync<TRequest, TReply>(
        string topic,
        TRequest request,
        IMqttPayloadCodec<TRequest> requestCodec,
        IMqttPayloadCodec<TReply> replyCodec,
        MqttQos qos = MqttQos.AtLeastOnce,
        MqttMessageProperties? properties = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default,
        string? topicTemplate = null)
    {
        ArgumentNullException.ThrowIfNull(requestCodec);
        ArgumentNullException.ThrowIfNull(replyCodec);
        RequireVersion5("A request");
        var wait = timeout ?? Options.RequestTimeout;
        if (wait <= TimeSpan.Zero && wait != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), wait, "A request timeout must be positive, or Timeout.InfiniteTimeSpan to wait for ever.");
        }

        return _requester.RequestAsync(topic, topicTemplate, request, requestCodec, replyCodec, qos, properties, wait, cancellationToken);
    }

    /// <summary>
    /// MQTT 5 request/response, responder side: subscribes to <paramref name="filter"/> and answers each request with what
    /// <paramref name="handler"/> returns, published to the request's response topic with its correlation data. A handler
    /// that throws, and a request that cannot be decoded, are answered with an error reply that the requester raises as
    /// <see cref="MqttRequestException"/>; the responder keeps serving. A request without a response topic is handled and
    /// its reply dropped.
    /// </summary>
    /// <typeparam name="TRequest">The decoded request (topic values and payload).</typeparam>
    /// <typeparam name="TReply">The reply payload type.</typeparam>
    /// <param name="filter">The request filter, wildcards allowed.</param>
    /// <param name="decoder">Turns topic and payload into <typeparamref name="TRequest"/>.</param>
    /// <param name="replyCodec">How to encode the reply.</param>
    /// <param name="handler">Computes the reply.</param>
    /// <param name="options">QoS, shared group and concurrency.</param>
    /// <param name="cancellationToken">Cancels the wait for SUBACK.</param>
    /// <returns>The running responder; dispose it to stop.</returns>
    /// <exception cref="NotSupportedException">The connection is not MQTT 5.</exception>
    public Task<MqttResponder> ServeAsync<TRequest, TReply>(
        string filter,
        MqttPayloadDecoder<TRequest> decoder,
        IMqttPayloadCodec<TReply> replyCodec,
        Func<TRequest, MqttMessageContext, CancellationToken, Task<TReply>> handler,
        MqttResponderOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(decoder);
        ArgumentNullException.ThrowIfNull(replyCodec);
        ArgumentNullException.ThrowIfNull(handler);
        RequireVersion5("A responder");
        options ??= MqttResponderOptions.Default;
        if (options.MaxConcurrency < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxConcurrency, "MaxConcurrency must be at least 1.");
        }

        return new Responder<TRequest, TReply>(this, replyCodec, handler, options, _logger, ReportMessageError).StartAsync(filter, decoder, options, cancellationToken);
    }

    private void RequireVersion5(string what)
    {
        if (Options.ProtocolVersion != MqttVersion.V500)
        {
            throw new NotSupportedException(
                $"{what} needs MQTT 5 (its response topic and correlation data are MQTT 5 properties), but this connection uses MQTT {(Options.ProtocolVersion == MqttVersion.V311 ? "3.1.1" : "3.1")}. Connect with version=5.");
        }
    }
}
