namespace TypedMqtt.Testing;

/// <summary>
/// Generates a fake of an MQTT contract on the partial class it marks, for unit tests of code that depends on the
/// contract's interface: <c>[MqttFake(typeof(IHome))] public partial class FakeHome;</c>. The fake implements the
/// interface with no connection and no broker: it records what is published and requested, lets the test deliver typed
/// messages to the subscribed handlers, and answers requests as the test says.
/// </summary>
/// <param name="contract">The contract interface (marked <c>[MqttContract]</c>); it may live in another assembly.</param>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class MqttFakeAttribute(Type contract) : Attribute
{
    /// <summary>The contract interface the fake implements.</summary>
    public Type Contract { get; } = contract;
}

/// <summary>One message the code under test sent through a fake: a publish, or a request.</summary>
/// <param name="Operation">The contract method, for example <c>PublishTemperatureAsync</c>.</param>
/// <param name="Topic">The topic it went to, formatted as the real client formats it.</param>
/// <param name="Payload">The payload value as passed (not encoded), or <see langword="null"/> without one.</param>
/// <param name="Qos">The operation's QoS.</param>
/// <param name="Retain">The operation's retain flag.</param>
public sealed record MqttFakeMessage(string Operation, string Topic, object? Payload, MqttQos Qos, bool Retain);

/// <summary>What every generated fake shares: the log of everything sent through it, across operations, in order.</summary>
public abstract class MqttFake
{
    private readonly List<MqttFakeMessage> _sent = [];

    /// <summary>Every publish and request made through the fake, in the order they were made.</summary>
    public IReadOnlyList<MqttFakeMessage> Sent
    {
        get
        {
            lock (_sent)
            {
                return _sent.ToArray();
            }
        }
    }

    /// <summary>Forgets everything recorded so far, in <see cref="Sent"/> and in every operation's calls.</summary>
    public virtual void ClearRecorded()
    {
        lock (_sent)
        {
            _sent.Clear();
        }
    }

    /// <summary>Adds to <see cref="Sent"/> (called by the generated operations).</summary>
    /// <param name="message">What was sent.</param>
    protected internal void RecordSent(MqttFakeMessage message)
    {
        lock (_sent)
        {
            _sent.Add(message);
        }
    }
}

/// <summary>The calls of one publish operation of a fake.</summary>
/// <typeparam name="TCall">The generated record of one call: the method's arguments and the topic.</typeparam>
public sealed class MqttFakePublisher<TCall>
    where TCall : class
{
    private readonly MqttFake _fake;
    private readonly CallLog<TCall> _calls;
    private Exception? _failure;

    /// <summary>Creates the record of one publish operation (called by the generated fake).</summary>
    /// <param name="fake">The fake it belongs to.</param>
    /// <param name="operation">The contract method.</param>
    /// <param name="qos">The operation's QoS.</param>
    /// <param name="retain">The operation's retain flag.</param>
    public MqttFakePublisher(MqttFake fake, string operation, MqttQos qos, bool retain)
    {
        _fake = fake;
        Operation = operation;
        Qos = qos;
        Retain = retain;
        _calls = new CallLog<TCall>(operation);
    }

    /// <summary>The contract method.</summary>
    public string Operation { get; }

    /// <summary>The operation's QoS.</summary>
    public MqttQos Qos { get; }

    /// <summary>The operation's retain flag.</summary>
    public bool Retain { get; }

    /// <summary>Every call so far, in order.</summary>
    public IReadOnlyList<TCall> Calls => _calls.Snapshot();

    /// <summary>The last call.</summary>
    /// <exception cref="InvalidOperationException">The operation was not called.</exception>
    public TCall Last => _calls.Last();

    /// <summary>Makes the following calls fail with <paramref name="error"/> (as a refused or undeliverable publish would), or succeed again with <see langword="null"/>. A failed call is still recorded.</summary>
    /// <param name="error">The exception the calls throw.</param>
    public void FailWith(Exception? error) => Volatile.Write(ref _failure, error);

    /// <summary>Forgets the calls recorded so far.</summary>
    public void Clear() => _calls.Clear();

    /// <summary>Records one call (called by the generated fake).</summary>
    /// <param name="call">The call.</param>
    /// <param name="topic">The formatted topic.</param>
    /// <param name="payload">The payload as passed.</param>
    /// <param name="cancellationToken">The caller's token.</param>
    /// <returns>A completed task, or the failure set with <see cref="FailWith"/>.</returns>
    public Task RecordAsync(TCall call, string topic, object? payload, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        _calls.Add(call);

        _fake.RecordSent(new MqttFakeMessage(Operation, topic, payload, Qos, Retain));
        return Volatile.Read(ref _failure) is { } failure ? Task.FromException(failure) : Task.CompletedTask;
    }
}
