namespace TypedMqtt.Testing;

/// <summary>The calls one operation of a fake recorded, safe to read while the code under test adds to it.</summary>
/// <typeparam name="TCall">The generated record of one call.</typeparam>
internal sealed class CallLog<TCall>(string operation)
{
    private readonly List<TCall> _calls = [];

    public IReadOnlyList<TCall> Snapshot()
    {
        lock (_calls)
        {
            return _calls.ToArray();
        }
    }

    public TCall Last()
    {
        lock (_calls)
        {
            return _calls.Count > 0 ? _calls[^1] : throw new InvalidOperationException($"{operation} was not called.");
        }
    }

    public void Add(TCall call)
    {
        lock (_calls)
        {
            _calls.Add(call);
        }
    }

    public void Clear()
    {
        lock (_calls)
        {
            _calls.Clear();
        }
    }
}
