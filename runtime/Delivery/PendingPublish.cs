namespace TypedMqtt.Delivery;

/// <summary>A publish between the caller and the broker's acknowledgement: what to send and whom to tell.</summary>
internal sealed class PendingPublish(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, MqttMessageProperties? properties, MqttOfflinePolicy policy, bool ownsPayload)
{
    private static long _lastSequence;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _ownsPayload = ownsPayload;

    /// <summary>Order of acceptance; a publish put back in the queue goes back to its place by it.</summary>
    public long Sequence { get; } = Interlocked.Increment(ref _lastSequence);

    public string Topic { get; } = topic;

    /// <summary>The payload; it may point into the caller's pooled buffer until <see cref="OwnPayload"/> is called.</summary>
    public ReadOnlyMemory<byte> Payload { get; private set; } = payload;

    public MqttQos Qos { get; } = qos;

    public bool Retain { get; } = retain;

    public MqttMessageProperties? Properties { get; } = properties;

    public MqttOfflinePolicy Policy { get; } = policy;

    /// <summary>The outbox id, or 0 when not stored in an outbox.</summary>
    public long OutboxId { get; set; }

    /// <summary>How many times it was handed to MQTTnet.</summary>
    public int Attempts { get; set; }

    /// <summary>The connection it was last handed to (0 = none); a send on a later one is a resend.</summary>
    public int LastLink { get; set; }

    public Task Completion => _completion.Task;

    /// <summary>Copies the payload so it outlives the caller's buffer (needed before it waits in a queue).</summary>
    public void OwnPayload()
    {
        if (!_ownsPayload)
        {
            Payload = Payload.ToArray();
            _ownsPayload = true;
        }
    }

    public void Complete() => _completion.TrySetResult();

    public void Fail(Exception exception) => _completion.TrySetException(exception);
}
