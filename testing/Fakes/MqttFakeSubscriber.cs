namespace TypedMqtt.Testing;

/// <summary>
/// The handlers of one subscribe operation of a fake. The generated subclass adds a typed <c>DeliverAsync</c> that takes
/// the topic values and the payload, formats the topic as a publisher would, and calls every subscribed handler in turn.
/// </summary>
/// <typeparam name="TMessage">The generated record of one message: the topic values and the payload.</typeparam>
public abstract class MqttFakeSubscriber<TMessage>
    where TMessage : class
{
    private readonly List<Entry> _handlers = [];
    private readonly List<TMessage> _delivered = [];

    /// <summary>Creates the handlers of one subscribe operation (called by the generated fake).</summary>
    /// <param name="operation">The contract method.</param>
    /// <param name="filter">The operation's topic filter, as the real client subscribes.</param>
    /// <param name="qos">The operation's QoS, which a delivered message carries in its context.</param>
    protected MqttFakeSubscriber(string operation, string filter, MqttQos qos)
    {
        Operation = operation;
        Filter = filter;
        Qos = qos;
    }

    /// <summary>The contract method.</summary>
    public string Operation { get; }

    /// <summary>The operation's topic filter.</summary>
    public string Filter { get; }

    /// <summary>The operation's QoS.</summary>
    public MqttQos Qos { get; }

    /// <summary>How many handlers are subscribed now (subscribed and not yet disposed).</summary>
    public int Count
    {
        get
        {
            lock (_handlers)
            {
                return _handlers.Count;
            }
        }
    }

    /// <summary>Every message delivered so far to at least one handler, in order.</summary>
    public IReadOnlyList<TMessage> Delivered
    {
        get
        {
            lock (_delivered)
            {
                return _delivered.ToArray();
            }
        }
    }

    /// <summary>Subscribes a handler (called by the generated fake's subscribe method).</summary>
    /// <param name="handler">Receives each delivered message with its context.</param>
    /// <returns>The subscription; disposing it removes the handler.</returns>
    public Task<MqttSubscription> AddAsync(Func<TMessage, MqttMessageContext, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var entry = new Entry(handler);
        lock (_handlers)
        {
            _handlers.Add(entry);
        }

        return Task.FromResult(new MqttSubscription(Filter, () =>
        {
            lock (_handlers)
            {
                _handlers.Remove(entry);
            }

            return ValueTask.CompletedTask;
        }));
    }

    /// <summary>
    /// Delivers one message to every subscribed handler, one after another, as the connection would (called by the
    /// generated <c>DeliverAsync</c>). A handler's exception reaches the test.
    /// </summary>
    /// <param name="message">The topic values and payload.</param>
    /// <param name="topic">The topic, formatted from the values.</param>
    /// <param name="properties">MQTT 5 properties the message carries, if any.</param>
    /// <param name="retain">Whether it arrives as a retained message.</param>
    /// <param name="cancellationToken">The token the handlers get.</param>
    /// <returns>How many handlers got it (0 when nothing is subscribed).</returns>
    protected async Task<int> DeliverMessageAsync(TMessage message, string topic, MqttMessageProperties? properties, bool retain, CancellationToken cancellationToken)
    {
        Entry[] handlers;
        lock (_handlers)
        {
            handlers = _handlers.ToArray();
        }

        if (handlers.Length == 0)
        {
            return 0;
        }

        lock (_delivered)
        {
            _delivered.Add(message);
        }

        var context = new MqttMessageContext
        {
            Topic = topic,
            Qos = Qos,
            Retain = retain,
            ContentType = properties?.ContentType,
            PayloadFormat = properties?.PayloadFormat ?? MqttPayloadFormat.Unspecified,
            MessageExpiryInterval = properties?.MessageExpiryInterval,
            ResponseTopic = properties?.ResponseTopic,
            CorrelationData = properties?.CorrelationData ?? default,
            UserProperties = properties?.UserProperties ?? [],
        };
        foreach (var entry in handlers)
        {
            await entry.Handler(message, context, cancellationToken).ConfigureAwait(false);
        }

        return handlers.Length;
    }

    private sealed class Entry(Func<TMessage, MqttMessageContext, CancellationToken, Task> handler)
    {
        public Func<TMessage, MqttMessageContext, CancellationToken, Task> Handler { get; } = handler;
    }
}
