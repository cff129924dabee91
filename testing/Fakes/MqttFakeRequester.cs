namespace TypedMqtt.Testing;

/// <summary>
/// The calls of one request operation of a fake, and how it answers them. The generated subclass adds a typed
/// <c>Reply</c> that takes the request's topic values and payload. Without a reply set, a call fails with an
/// <see cref="InvalidOperationException"/> that says so, rather than waiting for a timeout that would never come.
/// </summary>
/// <typeparam name="TCall">The generated record of one call: the method's arguments and the topic.</typeparam>
/// <typeparam name="TReply">The reply type.</typeparam>
public abstract class MqttFakeRequester<TCall, TReply>
    where TCall : class
{
    private readonly MqttFake _fake;
    private readonly CallLog<TCall> _calls;
    private Func<TCall, CancellationToken, Task<TReply>>? _reply;

    /// <summary>Creates the record of one request operation (called by the generated fake).</summary>
    /// <param name="fake">The fake it belongs to.</param>
    /// <param name="operation">The contract method.</param>
    /// <param name="qos">The operation's QoS.</param>
    protected MqttFakeRequester(MqttFake fake, string operation, MqttQos qos)
    {
        _fake = fake;
        Operation = operation;
        Qos = qos;
        _calls = new CallLog<TCall>(operation);
    }

    /// <summary>The contract method.</summary>
    public string Operation { get; }

    /// <summary>The operation's QoS.</summary>
    public MqttQos Qos { get; }

    /// <summary>Every call so far, in order.</summary>
    public IReadOnlyList<TCall> Calls => _calls.Snapshot();

    /// <summary>The last call.</summary>
    /// <exception cref="InvalidOperationException">The operation was not called.</exception>
    public TCall Last => _calls.Last();

    /// <summary>Answers every following call with <paramref name="reply"/>.</summary>
    /// <param name="reply">The reply.</param>
    public void Reply(TReply reply) => Answer((_, _) => Task.FromResult(reply));

    /// <summary>Makes the following calls time out, as when no responder answers: they throw <see cref="MqttRequestTimeoutException"/>.</summary>
    /// <param name="timeout">The timeout the exception names.</param>
    public void TimeOut(TimeSpan? timeout = null) =>
        Answer((call, _) => Task.FromException<TReply>(new MqttRequestTimeoutException(TopicOf(call), timeout ?? TimeSpan.FromSeconds(30), sent: true)));

    /// <summary>Makes the following calls fail as when the responder's handler threw: they throw <see cref="MqttRequestException"/>.</summary>
    /// <param name="remoteErrorType">The exception type the responder reports, for example <c>System.InvalidOperationException</c>.</param>
    /// <param name="remoteMessage">The responder's error message.</param>
    public void Fail(string remoteErrorType, string remoteMessage) =>
        Answer((call, _) => Task.FromException<TReply>(new MqttRequestException(TopicOf(call), remoteErrorType, remoteMessage)));

    /// <summary>Forgets the calls recorded so far (the reply stays).</summary>
    public void Clear() => _calls.Clear();

    /// <summary>Records one call and answers it (called by the generated fake).</summary>
    /// <param name="call">The call.</param>
    /// <param name="topic">The formatted request topic.</param>
    /// <param name="payload">The request payload as passed.</param>
    /// <param name="cancellationToken">The caller's token.</param>
    /// <returns>The reply.</returns>
    public Task<TReply> CallAsync(TCall call, string topic, object? payload, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<TReply>(cancellationToken);
        }

        _calls.Add(call);

        _fake.RecordSent(new MqttFakeMessage(Operation, topic, payload, Qos, Retain: false));
        var reply = Volatile.Read(ref _reply);
        return reply is null
            ? Task.FromException<TReply>(new InvalidOperationException(
                $"{Operation} was called (topic '{topic}') but the fake has no reply for it: set one with Reply(...), TimeOut() or Fail(...) on the fake's operation before the call."))
            : reply(call, cancellationToken);
    }

    /// <summary>Answers every following call with <paramref name="reply"/> (the generated typed <c>Reply</c> calls this).</summary>
    /// <param name="reply">Computes the reply from the call.</param>
    protected void Answer(Func<TCall, CancellationToken, Task<TReply>> reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        Volatile.Write(ref _reply, reply);
    }

    /// <summary>The topic of a recorded call (the generated subclass knows where the record keeps it).</summary>
    /// <param name="call">The call.</param>
    /// <returns>Its topic.</returns>
    protected abstract string TopicOf(TCall call);
}
