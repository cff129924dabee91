using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Telemetry;

[MqttContract]
public partial interface ITracedOrders
{
    [Publish("test/traced/{run}/orders/{id}", Qos = MqttQos.AtLeastOnce)]
    Task PlaceAsync(string run, int id, string item, CancellationToken cancellationToken = default);

    [Subscribe("test/traced/{run}/orders/{id}", Qos = MqttQos.AtLeastOnce)]
    Task<IAsyncDisposable> OnOrderAsync(Func<string, int, string, MqttMessageContext, CancellationToken, Task> handler, CancellationToken cancellationToken = default);
}

/// <summary>
/// Spans and metrics through the OpenTelemetry SDK's in-memory exporters. The ActivitySource and Meter are process-wide,
/// so this collection runs alone (nothing else publishes while it listens, and nothing listens while it checks silence).
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class TelemetryTests(MosquittoFixture mosquitto)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [MosquittoFact]
    public async Task One_trace_spans_the_publish_and_the_subscriber_s_processing_through_Mosquitto()
    {
        var spans = new List<Activity>();
        using (var tracing = Sdk.CreateTracerProviderBuilder().AddSource("TypedMqtt").AddInMemoryExporter(spans).Build())
        {
            var run = "t" + Guid.NewGuid().ToString("N")[..8];
            await using var publisher = await TracedOrdersClient.ConnectAsync(mosquitto.Broker.TcpAddress);
            await using var subscriber = await TracedOrdersClient.ConnectAsync(mosquitto.Broker.TcpAddress);
            var handled = new TaskCompletionSource<(string? TraceParent, string? CurrentId)>(TaskCreationOptions.RunContinuationsAsynchronously);
            await using var subscription = await subscriber.OnOrderAsync((_, _, _, context, _) =>
            {
                handled.TrySetResult((context.GetUserProperty("traceparent"), Activity.Current?.Id));
                return Task.CompletedTask;
            });

            await publisher.PlaceAsync(run, 7, "bolt");
            var (traceParent, currentId) = await handled.Task.WaitAsync(Wait);

            // The process span ends when the handler's task completes, just after the handler signalled: wait for it.
            var deadline = DateTime.UtcNow + Wait;
            while (Volatile.Read(ref spans).Count < 2 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }

            tracing.ForceFlush();

            var publish = Assert.Single(spans, s => s.DisplayName == "publish test/traced/{run}/orders/{id}" && Equals(s.GetTagItem("messaging.destination.name"), $"test/traced/{run}/orders/7"));
            var process = Assert.Single(spans, s => s.DisplayName == "process test/traced/+/orders/+" && Equals(s.GetTagItem("messaging.destination.name"), $"test/traced/{run}/orders/7"));
            Assert.Equal((ActivityKind.Producer, ActivityKind.Consumer), (publish.Kind, process.Kind));
            Assert.Equal(publish.TraceId, process.TraceId);
            Assert.Equal(publish.SpanId, process.ParentSpanId);
            Assert.Equal(publish.Id, traceParent); // the W3C traceparent travelled in an MQTT 5 user property
            Assert.Equal(process.Id, currentId);   // the handler runs inside the process span
            Assert.Equal("mqtt", publish.GetTagItem("messaging.system"));
            Assert.Equal("test/traced/{run}/orders/{id}", publish.GetTagItem("messaging.destination.template"));
        }
    }

    [Fact]
    public async Task Metrics_count_what_was_sent_and_consumed_by_template()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        var metrics = new List<Metric>();
        using var meters = Sdk.CreateMeterProviderBuilder().AddMeter("TypedMqtt").AddInMemoryExporter(metrics).Build();
        var run = "m" + Guid.NewGuid().ToString("N")[..8];
        await using var publisher = await TracedOrdersClient.ConnectAsync(broker.Address);
        await using var subscriber = await TracedOrdersClient.ConnectAsync(broker.Address);
        var received = 0;
        await using var subscription = await subscriber.OnOrderAsync((_, _, _, _, _) =>
        {
            Interlocked.Increment(ref received);
            return Task.CompletedTask;
        });

        for (var id = 0; id < 25; id++)
        {
            await publisher.PlaceAsync(run, id, "nut");
        }

        var deadline = DateTime.UtcNow + Wait;
        while (Volatile.Read(ref received) < 25 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        await Task.Delay(50); // the last handler's measurement is recorded as it returns
        meters.ForceFlush();
        Assert.Equal(25, Sum(metrics, "messaging.client.sent.messages", "test/traced/{run}/orders/{id}"));
        Assert.Equal(25, Sum(metrics, "messaging.client.consumed.messages", "test/traced/+/orders/+"));
        Assert.Equal(25, Count(metrics, "messaging.client.operation.duration", "test/traced/{run}/orders/{id}"));
        Assert.Equal(25, Count(metrics, "messaging.process.duration", "test/traced/+/orders/+"));
        Assert.Contains(metrics, m => m.Name == "typedmqtt.client.inflight.messages");
        Assert.Contains(metrics, m => m.Name == "typedmqtt.client.queued.messages");
    }

    [Fact]
    public async Task Without_a_listener_nothing_is_traced_and_no_trace_context_is_sent()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        Assert.False(TypedMqtt.Diagnostics.MqttTelemetry.Source.HasListeners());
        Assert.False(TypedMqtt.Diagnostics.MqttTelemetry.ObservesPublish);
        Assert.False(TypedMqtt.Diagnostics.MqttTelemetry.ObservesProcess);
        await using var publisher = await TracedOrdersClient.ConnectAsync(broker.Address);
        await using var subscriber = await TracedOrdersClient.ConnectAsync(broker.Address);
        var handled = new TaskCompletionSource<(int Properties, Activity? Current)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await subscriber.OnOrderAsync((_, _, _, context, _) =>
        {
            handled.TrySetResult((context.UserProperties.Count, Activity.Current));
            return Task.CompletedTask;
        });

        await publisher.PlaceAsync("silent", 1, "x");

        var (properties, current) = await handled.Task.WaitAsync(Wait);
        Assert.Equal(0, properties);
        Assert.Null(current);
    }

    private static long Sum(List<Metric> metrics, string name, string template)
    {
        long sum = 0;
        foreach (var metric in metrics.Where(m => m.Name == name))
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                if (HasTemplate(point, template))
                {
                    sum += point.GetSumLong();
                }
            }
        }

        return sum;
    }

    private static long Count(List<Metric> metrics, string name, string template)
    {
        long count = 0;
        foreach (var metric in metrics.Where(m => m.Name == name))
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                if (HasTemplate(point, template))
                {
                    count += point.GetHistogramCount();
                }
            }
        }

        return count;
    }

    private static bool HasTemplate(in MetricPoint point, string template)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == "messaging.destination.template" && Equals(tag.Value, template))
            {
                return true;
            }
        }

        return false;
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection : ICollectionFixture<MosquittoFixture>
{
    public const string Name = "Telemetry";
}
