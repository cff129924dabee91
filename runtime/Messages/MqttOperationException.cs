namespace TypedMqtt;

/// <summary>A publish, subscribe or unsubscribe was refused by the broker or could not be sent; the message says which and why.</summary>
public sealed class MqttOperationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed and why.</param>
    /// <param name="reasonCode">The MQTT 5 reason code, if the broker sent one.</param>
    /// <param name="innerException">The cause.</param>
    public MqttOperationException(string message, int? reasonCode, Exception? innerException = null)
        : base(message, innerException) => ReasonCode = reasonCode;

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public MqttOperationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public MqttOperationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public MqttOperationException()
    {
    }

    /// <summary>The MQTT 5 reason code the broker sent, or <see langword="null"/>.</summary>
    public int? ReasonCode { get; }
}
