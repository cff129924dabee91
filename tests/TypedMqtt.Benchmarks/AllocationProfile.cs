using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace TypedMqtt.Benchmarks;

/// <summary>
/// Where the bytes go: listens to the runtime's GC AllocationTick events (one per ~100 KB allocated, naming the type that
/// crossed the threshold) and sums them per type. A sampled estimate, good enough to rank types over a run of thousands
/// of messages. Used by <c>--alloc-profile</c>; never during measured runs.
/// </summary>
internal sealed class AllocationProfile : EventListener
{
    private const int GcKeyword = 0x1;
    private const int AllocationTickEventId = 10;
    private readonly ConcurrentDictionary<string, long> _bytesByType = new(StringComparer.Ordinal);
    private volatile bool _recording;

    public void Start()
    {
        _bytesByType.Clear();
        _recording = true;
    }

    public IReadOnlyList<(string Type, long Bytes)> Stop()
    {
        _recording = false;
        return [.. _bytesByType.Select(p => (p.Key, p.Value)).OrderByDescending(p => p.Value)];
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_recording || eventData.EventId != AllocationTickEventId || eventData.PayloadNames is not { } names || eventData.Payload is not { } payload)
        {
            return;
        }

        var type = names.IndexOf("TypeName") is var t and >= 0 ? payload[t] as string ?? "?" : "?";
        var amountIndex = names.IndexOf("AllocationAmount64");
        var amount = amountIndex >= 0 ? Convert.ToInt64(payload[amountIndex], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        _bytesByType.AddOrUpdate(type, amount, (_, sum) => sum + amount);
    }

    /// <summary>Runs each variant once per scenario with the listener on and prints the top types in B/msg.</summary>
    public static async Task RunAsync(BrokerProcess broker, IEnumerable<Scenario> scenarios, int top)
    {
        using var profile = new AllocationProfile();
        foreach (var scenario in scenarios)
        {
            foreach (var variant in new[] { Variant.Floor, Variant.Raw, Variant.Typed })
            {
                await EndToEnd.RunAsync(variant, broker, scenario with { Messages = Math.Max(200, scenario.Messages / 5) });
                profile.Start();
                var result = await EndToEnd.RunAsync(variant, broker, scenario);
                var types = profile.Stop();
                Console.WriteLine($"[alloc] {broker.Name} {scenario.Name} {variant}: {result.BytesPerMessage:N0} B/msg measured; sampled by type (B/msg):");
                foreach (var (type, bytes) in types.Take(top))
                {
                    Console.WriteLine($"    {(double)bytes / result.Sent,8:N0}  {type}");
                }
            }
        }
    }
}
