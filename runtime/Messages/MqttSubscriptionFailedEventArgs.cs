namespace TypedMqtt;

/// <summary>A subscription could not be (re)established: the broker refused it or the request failed.</summary>
public sealed class MqttSubscriptionFailedEventArgs : EventArgs
{
    /// <summary>Creates the event arguments.</summary>
    /// <param name="filter">The filter.</param>
    /// <param name="exception">Why it failed.</param>
    public MqttSubscriptionFailedEventArgs(string filter, Exception exception)
    {
        Filter = filter;
        Exception = exception;
    }

    /// <summary>The filter that is not subscribed.</summary>
    public string Filter { get; }

    /// <summary>Why it failed.</summary>
    public Exception Exception { get; }
}
