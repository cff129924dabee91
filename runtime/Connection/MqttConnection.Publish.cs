using System.Diagnostics;
using TypedMqtt.Delivery;
using TypedMqtt.Diagnostics;

namespace TypedMqtt;

public sealed partial class MqttConnection
{
    /// <summary>
    /// Publishes a message. The topic and properties are validated first: an invalid one throws and nothing is sent.
    /// Completes when the message was written (QoS 0), acknowledged (QoS 1) or completed (QoS 2). While the connection is
    /// down, or if it drops before the acknowledgement, the publish waits in the offline queue and is sent after reconnect
    /// (see <see cref="MqttConnectionOptions.OfflineQueue"/>); the task completes when it is finally acknowledged.
    /// </summary>
    /// <param name="topic">The topic name; no wildcards.</param>
    /// <param name="payload">The payload bytes; they may be reused once the task completes.</param>
    /// <param name="qos">Quality of service.</param>
    /// <param name="retain">Whether the broker retains the message for late subscribers.</param>
    /// <param name="properties">MQTT 5 message properties, or <see langword="null"/>.</param>
    /// <param name="offlinePolicy">What to do while offline; <see langword="null"/> takes the connection's policy for the QoS.</param>
    /// <param name="cancellationToken">Withdraws the publish if it was not written yet (it is then never sent); once written, it may still arrive.</param>
    /// <param name="topicTemplate">
    /// The topic template this publish belongs to (for example <c>home/{room}/temperature</c>), which names its span and its
    /// metrics so that their cardinality stays bounded; <see langword="null"/> uses the topic. Generated clients pass it.
    /// </param>
    /// <returns>A task that completes when the publish is done.</returns>
    /// <exception cref="ArgumentException">The topic or a property is invalid.</exception>
    /// <exception cref="MqttOperationException">The connection is down, the server's limits forbid it, or the broker refused it.</exception>
    public Task PublishAsync(
        string topic,
        ReadOnlyMemory<byte> payload,
        MqttQos qos = MqttQos.AtMostOnce,
        bool retain = false,
        MqttMessageProperties? properties = null,
        MqttOfflinePolicy? offlinePolicy = null,
        CancellationToken cancellationToken = default,
        string? topicTemplate = null)
    {
        return MqttTelemetry.ObservesPublish
            ? PublishBytesObserved(topic, payload, qos, retain, properties, offlinePolicy, cancellationToken, topicTemplate)
            : PublishBytes(topic, payload, qos, retain, properties, offlinePolicy, cancellationToken);
    }

    // Its own method: the closure is allocated only when telemetry listens, never on the plain path.
    private Task PublishBytesObserved(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, MqttMessageProperties? properties, MqttOfflinePolicy? offlinePolicy, CancellationToken cancellationToken, string? topicTemplate) =>
        ObservePublish(topic, topicTemplate, qos, properties, traced => PublishBytes(topic, payload, qos, retain, traced, offlinePolicy, cancellationToken));

    private Task PublishBytes(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, MqttMessageProperties? properties, MqttOfflinePolicy? offlinePolicy, CancellationToken cancellationToken)
    {
        properties = PublishRules.Validate(topic, qos, properties, Options.ProtocolVersion);
        PublishRules.CheckServerLimits(topic, payload.Length, qos, retain, properties, default, Options.ProtocolVersion == MqttVersion.V500, ConnectResult);
        return _delivery.DeliverAsync(topic, payload, null, qos, retain, properties, default, _delivery.PolicyFor(qos, offlinePolicy), cancellationToken);
    }

    /// <summary>
    /// A publish while telemetry listens: a producer span whose W3C trace context travels in the message's user
    /// properties (MQTT 5), then the sent counter and the duration when the publish completes. <paramref name="publish"/>
    /// runs the publish itself with the properties to send, outside the span's ambient scope.
    /// </summary>
    private Task ObservePublish(string topic, string? template, MqttQos qos, MqttMessageProperties? properties, Func<MqttMessageProperties?, Task> publish)
    {
        var destination = template ?? topic;
        var previous = Activity.Current;
        var activity = MqttTelemetry.StartPublish(destination, topic, qos, Options);
        Activity.Current = previous; // the span ends when the publish completes, not when this call returns
        if (activity is not null && Options.ProtocolVersion == MqttVersion.V500)
        {
            properties = MqttTelemetry.Inject(activity, properties);
        }

        var started = Stopwatch.GetTimestamp();
        Task task;
        try
        {
            task = publish(properties);
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            activity?.Dispose();
            throw;
        }

        return CompletePublishAsync(task, activity, destination, started);
    }

    private static async Task CompletePublishAsync(Task task, Activity? activity, string destination, long started)
    {
        var tags = MqttTelemetry.Tags("publish", destination);
        try
        {
            await task.ConfigureAwait(false);
            MqttTelemetry.Sent.Add(1, tags);
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            tags.Add("error.type", e.GetType().FullName);
            throw;
        }
        finally
        {
            MqttTelemetry.PublishDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
            activity?.Dispose();
        }
    }
}
