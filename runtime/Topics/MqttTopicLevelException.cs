namespace TypedMqtt;

/// <summary>
/// A level of a received topic is not in the one text form of its parameter's type, so the message does not belong to
/// the typed subscription: it goes to <see cref="MqttConnection.MessageFailed"/> with stage
/// <see cref="MqttMessageErrorStage.Topic"/> and never to the handler.
/// </summary>
public sealed class MqttTopicLevelException : FormatException
{
    internal MqttTopicLevelException(ReadOnlySpan<char> level, string parameterName, string expected)
        : base($"Topic level '{Topics.TopicRules.Printable(level.ToString())}' for parameter '{parameterName}' is not {expected}.")
    {
        Level = level.ToString();
        ParameterName = parameterName;
    }

    /// <summary>The level as received.</summary>
    public string Level { get; }

    /// <summary>The template parameter it was read for.</summary>
    public string ParameterName { get; }
}
