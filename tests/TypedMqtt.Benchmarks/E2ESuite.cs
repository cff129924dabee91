using static TypedMqtt.Benchmarks.Report;

namespace TypedMqtt.Benchmarks;

/// <summary>Runs every E2E scenario against each broker, interleaving the variants, and reports medians and ratios.</summary>
internal static class E2ESuite
{
    public static Scenario[] Scenarios(bool quick)
    {
        var scale = quick ? 0.1 : 1.0;
        return
        [
            new Scenario("QoS 0", MqttQos.AtMostOnce, 1, (int)(40_000 * scale)),
            new Scenario("QoS 1 sequential", MqttQos.AtLeastOnce, 1, (int)(4_000 * scale)),
            new Scenario("QoS 1 window 64", MqttQos.AtLeastOnce, 64, (int)(20_000 * scale)),
        ];
    }

    public static async Task RunAsync(Report report, bool quick, int runs, IReadOnlyList<string> brokers)
    {
        var scenarios = Scenarios(quick);

        var throughput = report.Table(
            $"End to end (median of {runs} interleaved runs; msg/s = messages received per second; B/msg = bytes allocated by both clients per message)",
            "broker", "scenario", "N", "floor msg/s", "raw msg/s", "typed msg/s", "typed/raw", "floor B/msg", "raw B/msg", "typed B/msg", "typed/raw B", "typed layer above floor", "CPU us/msg floor/raw/typed", "lost floor/raw/typed");
        var telemetry = report.Table(
            "Telemetry end to end: the typed client with no listener (as above) and with every TypedMqtt span recorded and every instrument measured (same interleaved runs)",
            "broker", "scenario", "typed msg/s", "traced msg/s", "traced/typed", "typed B/msg", "traced B/msg", "CPU us/msg typed/traced");
        var medians = new Dictionary<(string Broker, string Scenario, Variant Variant), (double Rate, double Bytes, double Cpu)>();
        Variant[] all = [Variant.Floor, Variant.Raw, Variant.Typed, Variant.TypedTraced];

        foreach (var brokerName in brokers)
        {
            Console.WriteLine($"[e2e] starting {brokerName}");
            await using var broker = brokerName == "mosquitto" ? await BrokerProcess.StartMosquittoAsync() : await BrokerProcess.StartEmbeddedAsync();
            foreach (var scenario in scenarios)
            {
                // Warm-up: JIT and tiering for every variant, not counted.
                var warm = scenario with { Messages = Math.Max(200, scenario.Messages / 5) };
                foreach (var variant in all)
                {
                    await EndToEnd.RunAsync(variant, broker, warm);
                }

                var results = all.ToDictionary(v => v, _ => new List<RunResult>());
                for (var round = 0; round < runs; round++)
                {
                    // raw, typed, raw, typed...: alternate which goes first so drift in machine load cancels; traced and the floor close each round.
                    var order = round % 2 == 0 ? new[] { Variant.Raw, Variant.Typed, Variant.TypedTraced, Variant.Floor } : new[] { Variant.Typed, Variant.Raw, Variant.TypedTraced, Variant.Floor };
                    foreach (var variant in order)
                    {
                        var result = await EndToEnd.RunAsync(variant, broker, scenario);
                        results[variant].Add(result);
                        Console.WriteLine($"[e2e] {broker.Name,-9} {scenario.Name,-17} {variant,-11} run {round + 1}: {result.MessagesPerSecond,9:N0} msg/s {result.BytesPerMessage,7:N0} B/msg {result.CpuMicrosecondsPerMessage,6:N1} us CPU/msg{(result.Received < result.Sent ? $" LOST {result.Sent - result.Received}" : string.Empty)}");
                    }
                }

                foreach (var (variant, list) in results)
                {
                    medians[(broker.Name, scenario.Name, variant)] = (Median(list.Select(x => x.MessagesPerSecond)), Median(list.Select(x => x.BytesPerMessage)), Median(list.Select(x => x.CpuMicrosecondsPerMessage)));
                }

                var floor = medians[(broker.Name, scenario.Name, Variant.Floor)];
                var raw = medians[(broker.Name, scenario.Name, Variant.Raw)];
                var typed = medians[(broker.Name, scenario.Name, Variant.Typed)];
                long Lost(Variant v) => results[v].Sum(x => (long)(x.Sent - x.Received));
                var lost = string.Join(" / ", new[] { Variant.Floor, Variant.Raw, Variant.Typed }.Select(v => F(Lost(v))));
                var handWrittenLayer = raw.Bytes - floor.Bytes;
                var typedLayer = typed.Bytes - floor.Bytes;
                throughput.Add(
                [
                    broker.Name, scenario.Name, F(scenario.Messages),
                    F(floor.Rate), F(raw.Rate), F(typed.Rate), F(typed.Rate / raw.Rate, "0.00"),
                    F(floor.Bytes), F(raw.Bytes), F(typed.Bytes), F(typed.Bytes / raw.Bytes, "0.00"),
                    $"{F(typedLayer)} B ({F(100 * typedLayer / handWrittenLayer, "0")}% of raw's {F(handWrittenLayer)} B)",
                    $"{F(floor.Cpu, "0.0")} / {F(raw.Cpu, "0.0")} / {F(typed.Cpu, "0.0")}",
                    lost,
                ]);
                // Received per second flatters a publisher that outruns the broker until it drops messages: losing more than the
                // hand-written client fails the line whatever the rate.
                var moreLost = Lost(Variant.Typed) > Lost(Variant.Raw);
                report.Target($"E2E throughput typed >= 1.00 x raw: {broker.Name}, {scenario.Name}", $"{F(typed.Rate / raw.Rate, "0.00")} x{(moreLost ? $" (but lost {F(Lost(Variant.Typed))} vs {F(Lost(Variant.Raw))})" : string.Empty)}", typed.Rate >= raw.Rate && !moreLost);
                report.Target($"E2E allocation typed <= 1.00 x raw: {broker.Name}, {scenario.Name}", $"{F(typed.Bytes / raw.Bytes, "0.00")} x ({F(typed.Bytes)} vs {F(raw.Bytes)} B/msg; floor {F(floor.Bytes)})", typed.Bytes <= raw.Bytes);

                var traced = medians[(broker.Name, scenario.Name, Variant.TypedTraced)];
                telemetry.Add(
                [
                    broker.Name, scenario.Name, F(typed.Rate), F(traced.Rate), F(traced.Rate / typed.Rate, "0.00"),
                    F(typed.Bytes), F(traced.Bytes), $"{F(typed.Cpu, "0.0")} / {F(traced.Cpu, "0.0")}",
                ]);

                // Telemetry that did its work without a listener would show as the same bytes with and without one.
                report.Target($"E2E telemetry off costs no allocation: typed with no listener < 0.8 x traced B/msg: {broker.Name}, {scenario.Name}", $"{F(typed.Bytes)} vs {F(traced.Bytes)} B/msg ({F(typed.Bytes / traced.Bytes, "0.00")} x)", typed.Bytes < 0.8 * traced.Bytes);
            }

            var sequential = medians[(broker.Name, "QoS 1 sequential", Variant.Typed)].Rate;
            var windowed = medians[(broker.Name, "QoS 1 window 64", Variant.Typed)].Rate;
            var rawSequential = medians[(broker.Name, "QoS 1 sequential", Variant.Raw)].Rate;
            var rawWindowed = medians[(broker.Name, "QoS 1 window 64", Variant.Raw)].Rate;
            report.Target($"Typed QoS 1 window 64 >= 1.5 x QoS 1 sequential: {broker.Name}", $"{F(windowed / sequential, "0.00")} x (raw: {F(rawWindowed / rawSequential, "0.00")} x)", windowed >= 1.5 * sequential);
        }

        report.Note("E2E: 'typed layer above floor' = typed B/msg - floor B/msg, and its share of what the hand-written layer (raw - floor) allocates. " +
            "CPU us/msg = this process's CPU time (both clients, every thread, including the thread pool's spinning) per message, less sensitive to other load than msg/s. " +
            "Floor = MQTTnet with a pre-serialized payload, a pre-built message and a handler that only counts. Both brokers run in their own process. " +
            "Lost messages are the broker's (the embedded broker keeps up to EmbeddedMqttBroker.MaxPendingMessagesPerClient = 100,000 per client, then drops the oldest); msg/s counts received messages only, and a throughput target FAILs when the typed client lost more messages than the hand-written one.");
    }
}
