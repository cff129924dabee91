using System.Runtime.CompilerServices;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

namespace TypedMqtt.Diagnostics;

/// <summary>
/// The <see cref="ActivitySource"/> and <see cref="Meter"/> named <c>TypedMqtt</c>, after the OpenTelemetry messaging
/// semantic conventions: a <c>publish {destination}</c> span (producer) per publish and a <c>process {filter}</c> span
/// (consumer) per handled message, joined across the broker by W3C trace context in MQTT 5 user properties; counters of
/// sent and consumed messages, duration histograms, and gauges of queued and in-flight messages per connection. Nothing
/// is created or measured while no listener is attached (one check of a flag per operation).
/// </summary>
internal static class MqttTelemetry
{
    public const string Name = "TypedMqtt";

    private static readonly object Tracked = new();

    private static readonly string? Version = typeof(MqttTelemetry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0];

    public static readonly ActivitySource Source = new(Name, Version);

    public static readonly Meter Meter = new(Name, Version);

    public static readonly Counter<long> Sent = Meter.CreateCounter<long>(
        "messaging.client.sent.messages", "{message}", "Messages published: written (QoS 0) or acknowledged by the broker (QoS 1/2).");

    public static readonly Counter<long> Consumed = Meter.CreateCounter<long>(
        "messaging.client.consumed.messages", "{message}", "Messages handed to a subscription's handler.");

    public static readonly Histogram<double> PublishDuration = Meter.CreateHistogram<double>(
        "messaging.client.operation.duration", "s", "How long a publish took, from the call to its completion (the acknowledgement for QoS 1/2).");

    public static readonly Histogram<double> ProcessDuration = Meter.CreateHistogram<double>(
        "messaging.process.duration", "s", "How long a handler took for one message.");

    public static readonly Counter<long> Reconnects = Meter.CreateCounter<long>(
        "typedmqtt.client.reconnects", "{reconnect}", "Successful reconnects after a lost connection.");

    // Weak: a connection that is never disposed is not kept alive by its gauges.
    private static readonly ConditionalWeakTable<MqttConnection, object> Connections = new();

    static MqttTelemetry()
    {
        Meter.CreateObservableUpDownCounter("typedmqtt.client.queued.messages", () => Observe(c => c.Statistics.QueueLength), "{message}", "Publishes waiting in the offline queue.");
        Meter.CreateObservableUpDownCounter("typedmqtt.client.inflight.messages", () => Observe(c => c.Statistics.InFlight), "{message}", "QoS 1/2 publishes sent and awaiting their acknowledgement.");
    }

    /// <summary>Whether anything listens to spans or to the publish metrics (else a publish does no telemetry work).</summary>
    public static bool ObservesPublish => Source.HasListeners() || Sent.Enabled || PublishDuration.Enabled;

    /// <summary>Whether anything listens to spans or to the processing metrics.</summary>
    public static bool ObservesProcess => Source.HasListeners() || Consumed.Enabled || ProcessDuration.Enabled;

    public static void Track(MqttConnection connection) => Connections.AddOrUpdate(connection, Tracked);

    public static void Untrack(MqttConnection connection) => Connections.Remove(connection);

    /// <summary>Starts the producer span of a publish; null without a listener.</summary>
    public static Activity? StartPublish(string destination, string topic, MqttQos qos, MqttConnectionOptions options)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity("publish " + destination, ActivityKind.Producer);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("messaging.system", "mqtt");
            activity.SetTag("messaging.operation.name", "publish");
            activity.SetTag("messaging.operation.type", "send");
            activity.SetTag("messaging.destination.name", topic);
            activity.SetTag("messaging.destination.template", destination);
            activity.SetTag("messaging.client.id", options.ClientId);
            activity.SetTag("messaging.mqtt.qos", (int)qos);
            activity.SetTag("server.address", options.Host);
            activity.SetTag("server.port", options.Port);
        }

        return activity;
    }

    /// <summary>Adds <c>traceparent</c> (and <c>tracestate</c>) of <paramref name="activity"/> to the user properties (MQTT 5).</summary>
    public static MqttMessageProperties Inject(Activity activity, MqttMessageProperties? properties)
    {
        var added = new List<MqttUserProperty>(2);
        DistributedContextPropagator.Current.Inject(activity, added, static (carrier, name, value) =>
        {
            if (name is "traceparent" or "tracestate" && value is not null)
            {
                ((List<MqttUserProperty>)carrier!).Add(new MqttUserProperty(name, value));
            }
        });
        if (added.Count == 0)
        {
            return properties ?? MqttMessageProperties.Empty;
        }

        var existing = properties?.UserProperties ?? [];
        return (properties ?? MqttMessageProperties.Empty) with { UserProperties = [.. existing, .. added] };
    }

    /// <summary>Starts the consumer span of a handled message, the child of the publisher's span when the message carries its trace context.</summary>
    public static Activity? StartProcess(string filter, string topic, MqttMessageContext? context)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var parent = default(ActivityContext);
        if (context?.GetUserProperty("traceparent") is { } traceParent)
        {
            ActivityContext.TryParse(traceParent, context.GetUserProperty("tracestate"), isRemote: true, out parent);
        }

        var activity = Source.StartActivity("process " + filter, ActivityKind.Consumer, parent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("messaging.system", "mqtt");
            activity.SetTag("messaging.operation.name", "process");
            activity.SetTag("messaging.operation.type", "process");
            activity.SetTag("messaging.destination.name", topic);
            activity.SetTag("messaging.destination.template", filter);
            if (context is not null)
            {
                activity.SetTag("messaging.mqtt.qos", (int)context.Qos);
            }
        }

        return activity;
    }

    public static TagList Tags(string operation, string destination) => new()
    {
        { "messaging.system", "mqtt" },
        { "messaging.operation.name", operation },
        { "messaging.destination.template", destination },
    };

    private static IEnumerable<Measurement<int>> Observe(Func<MqttConnection, int> read)
    {
        foreach (var (connection, _) in Connections)
        {
            yield return new Measurement<int>(read(connection),
                new KeyValuePair<string, object?>("messaging.system", "mqtt"),
                new KeyValuePair<string, object?>("messaging.client.id", connection.Options.ClientId),
                new KeyValuePair<string, object?>("server.address", connection.Options.Host));
        }
    }
}
