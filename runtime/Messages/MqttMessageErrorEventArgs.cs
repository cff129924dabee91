namespace TypedMqtt;

/// <summary>Where processing of a received message failed.</summary>
public enum MqttMessageErrorStage
{
    /// <summary>The topic or payload could not be decoded; the handler was not called.</summary>
    Decode,

    /// <summary>The handler threw.</summary>
    Handler,

    /// <summary>A level of the topic is not in the one text form of its parameter's type (<see cref="MqttTopicLevelException"/>); the handler was not called.</summary>
    Topic,
}

/// <summary>A received message could not be processed. The connection and other subscriptions are unaffected.</summary>
public sealed class MqttMessageErrorEventArgs : EventArgs
{
    /// <summary>Creates the event arguments.</summary>
    /// <param name="stage">Where it failed.</param>
    /// <param name="filter">The subscription filter that matched.</param>
    /// <param name="topic">The message topic.</param>
    /// <param name="payload">The raw payload bytes (a copy).</param>
    /// <param name="exception">The error.</param>
    public MqttMessageErrorEventArgs(MqttMessageErrorStage stage, string filter, string topic, ReadOnlyMemory<byte> payload, Exception exception)
    {
        Stage = stage;
        Filter = filter;
        Topic = topic;
        Payload = payload;
        Exception = exception;
    }

    /// <summary>Where it failed.</summary>
    public MqttMessageErrorStage Stage { get; }

    /// <summary>The subscription filter that matched.</summary>
    public string Filter { get; }

    /// <summary>The message topic.</summary>
    public string Topic { get; }

    /// <summary>The raw payload (empty for handler errors, where the payload was already decoded).</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The error.</summary>
    public Exception Exception { get; }
}
