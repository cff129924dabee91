namespace TypedMqtt.Link;

/// <summary>Finds the exception that explains a failure inside the wrappers (MQTTnet's, IO's, aggregates) around it.</summary>
internal static class ExceptionChain
{
    /// <summary>The first <typeparamref name="T"/> in the inner exceptions of <paramref name="e"/> (itself included), or null.</summary>
    public static T? Find<T>(Exception e)
        where T : Exception
    {
        for (Exception? current = e; current is not null; current = current.InnerException)
        {
            if (current is T match)
            {
                return match;
            }

            if (current is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions)
                {
                    if (Find<T>(inner) is { } found)
                    {
                        return found;
                    }
                }
            }
        }

        return null;
    }
}
