namespace TypedMqtt.Diagnostics;

/// <summary>
/// Timers for the library's own watches: they do not carry the creating thread's execution context (its
/// <c>Activity</c>, its AsyncLocals) into their callbacks, and creating one works where that flow is already
/// suppressed (<see cref="ExecutionContext.SuppressFlow"/> would throw there).
/// </summary>
internal static class DetachedTimer
{
    public static Timer Create(TimerCallback callback, TimeSpan dueTime, TimeSpan period)
    {
        if (ExecutionContext.IsFlowSuppressed())
        {
            return new Timer(callback, null, dueTime, period);
        }

        using (ExecutionContext.SuppressFlow())
        {
            return new Timer(callback, null, dueTime, period);
        }
    }
}
