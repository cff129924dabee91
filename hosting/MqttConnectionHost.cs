using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace TypedMqtt.Hosting;

/// <summary>
/// One registered connection and its life in the host: opens it when the host starts (the host does not start if the
/// broker cannot be reached or refuses), makes the registered subscriptions, and on stop disposes them, flushes what was
/// accepted for sending within <see cref="TypedMqttSettings.FlushTimeout"/> and the host's deadline, sends DISCONNECT and
/// logs what could not be sent.
/// </summary>
internal sealed class MqttConnectionHost : IHostedService, IAsyncDisposable
{
    private readonly TypedMqttRegistration _registration;
    private readonly IServiceProvider _services;
    private readonly ILogger _logger;
    private readonly List<IAsyncDisposable> _subscriptions = [];
    private readonly object _gate = new();
    private MqttConnection? _connection;
    private bool _open;
    private string _lastReason = "not connected yet: the connection opens when the host starts";

    public MqttConnectionHost(TypedMqttRegistration registration, IServiceProvider services)
    {
        _registration = registration;
        _services = services;
        _logger = services.GetService<ILoggerFactory>()?.CreateLogger("TypedMqtt.Hosting") ?? NullLogger.Instance;
    }

    public string Name => _registration.Name;

    /// <summary>
    /// The connection: created on first use, so typed clients can be injected into other hosted services and singletons
    /// before the host starts (their publishes wait in the offline queue until it opens); opened by <see cref="StartAsync"/>.
    /// </summary>
    public MqttConnection Connection
    {
        get
        {
            lock (_gate)
            {
                if (_connection is null)
                {
                    var settings = _services.GetRequiredService<IOptionsMonitor<TypedMqttSettings>>().Get(_registration.Name);
                    _connection = MqttConnection.Create(_registration.BuildOptions(settings, _services.GetService<ILoggerFactory>()));
                    _connection.StateChanged += (_, e) => Volatile.Write(ref _lastReason, e.Reason);
                }

                return _connection;
            }
        }
    }

    /// <summary>The latest state change's reason, for the health check.</summary>
    public string LastReason => Volatile.Read(ref _lastReason);

    /// <summary>Whether the host started the connection and has not stopped it.</summary>
    public bool IsOpen => Volatile.Read(ref _open);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var connection = Connection;
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _lastReason, "connected");
        Volatile.Write(ref _open, true);
        foreach (var subscribe in _registration.Subscriptions)
        {
            _subscriptions.Add(await subscribe(_services, cancellationToken).ConfigureAwait(false));
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!IsOpen || _connection is not { } connection)
        {
            return;
        }

        foreach (var subscription in _subscriptions)
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
        }

        _subscriptions.Clear();
        var settings = _services.GetRequiredService<IOptionsMonitor<TypedMqttSettings>>().Get(_registration.Name);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.FlushTimeout);
        try
        {
            await connection.FlushAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            var left = connection.Statistics;
            Log.NotFlushed(_logger, Describe(), left.QueueLength, left.InFlight, settings.FlushTimeout.TotalSeconds);
        }

        Volatile.Write(ref _open, false);
        Volatile.Write(ref _lastReason, "stopped with the host");
        await connection.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        Volatile.Write(ref _open, false);
        if (_connection is { } connection)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private string Describe() => _registration.Name.Length == 0 ? string.Empty : $" '{_registration.Name}'";
}

internal static partial class Log
{
    [LoggerMessage(EventId = 101, EventName = "NotFlushed", Level = LogLevel.Warning,
        Message = "MQTT connection{Name} stopped before everything was delivered: {Queued} publishes still queued and {InFlight} unacknowledged after {Seconds} s; they are lost unless an outbox keeps them")]
    public static partial void NotFlushed(ILogger logger, string name, int queued, int inFlight, double seconds);
}
