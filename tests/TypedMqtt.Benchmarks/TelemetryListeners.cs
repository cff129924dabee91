using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace TypedMqtt.Benchmarks;

/// <summary>
/// Telemetry switched on as an application with OpenTelemetry would: every TypedMqtt span recorded (so the trace context
/// travels in user properties) and every TypedMqtt instrument measured. Disposing switches it off again.
/// </summary>
internal sealed class TelemetryListeners : IDisposable
{
    private readonly ActivityListener _spans;
    private readonly MeterListener _meters;

    public TelemetryListeners()
    {
        _spans = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "TypedMqtt",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_spans);
        _meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "TypedMqtt")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _meters.Start();
    }

    public void Dispose()
    {
        _spans.Dispose();
        _meters.Dispose();
    }
}
