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
            new Scenario("WebSocket QoS 0", MqttQos.AtMostOnce, 1, (int)(40_000 * scale), WebSocket: true),
            new Scenario("WebSocket QoS 1 w64", MqttQos.AtLeastOnce, 64, (int)(20_000 * scale), WebSocket: true),
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
        var anchor = report.Table(
            $"The C anchor and the broker's own limit (median of {runs} interleaved runs; libmosquitto publisher and subscriber in one process, same broker, payload and topic; broker CPU and waiting from /proc/<pid>/task/*/schedstat)",
            "broker", "scenario", "C msg/s", "typed msg/s", "raw msg/s", "typed/C", "typed, own reading thread: msg/s; /C; client CPU us/msg", "client CPU us/msg C/typed/raw", "broker CPU us/msg C/typed/raw", "broker busy % C/typed/raw", "broker waiting for a CPU % C/typed/raw", "broker reads, writes, sleeps per msg C; typed", "broker's limit msg/s (typed run); limit/C", "lost C");
        var medians = new Dictionary<(string Broker, string Scenario, Variant Variant), (double Rate, double Bytes, double Cpu, double BrokerCpu, double BrokerBusy, double BrokerWaiting, double BrokerReads, double BrokerWrites, double BrokerWakes)>();

        foreach (var brokerName in brokers)
        {
            Console.WriteLine($"[e2e] starting {brokerName}");
            // Mosquitto runs the TCP rows on a broker that listens on TCP only and the WebSocket rows on a second one started
            // for them: a WebSocket listener costs Mosquitto a poll() per packet, which the TCP rows would count against its limit.
            await using var tcpBroker = brokerName == "mosquitto" ? await BrokerProcess.StartMosquittoAsync() : await BrokerProcess.StartEmbeddedAsync();
            BrokerProcess? webSocketBroker = null;
            try
            {
                // The C anchor runs through Mosquitto only (the embedded broker is MQTTnet's own).
                var withC = brokerName == "mosquitto" && CAnchor.Binary.Binary is not null;
                if (brokerName == "mosquitto" && !withC)
                {
                    report.Target("C anchor measured through Mosquitto", $"not measured: {CAnchor.Binary.Why}", false);
                }

                // With the C anchor, the typed client also runs with a reading thread per connection, as each C client has one.
                Variant[] all = withC ? [Variant.Floor, Variant.Raw, Variant.Typed, Variant.TypedThread, Variant.TypedTraced, Variant.C] : [Variant.Floor, Variant.Raw, Variant.Typed, Variant.TypedTraced];
                foreach (var scenario in scenarios.Where(s => !s.WebSocket || brokerName == "mosquitto"))
                {
                    var broker = !scenario.WebSocket ? tcpBroker : webSocketBroker ??= await BrokerProcess.StartMosquittoAsync(webSockets: true);
                    // WebSocket rows compare the transports of the typed and the hand-written client (no C anchor, no telemetry variant).
                    Variant[] variants = scenario.WebSocket ? [Variant.Floor, Variant.Raw, Variant.Typed] : all;
                    // Warm-up, not counted: each .NET variant runs the scenario until its code is optimised (WarmUp), the C anchor once.
                    foreach (var variant in variants)
                    {
                        await WarmUp.ForAsync(variant == Variant.C ? TimeSpan.Zero : WarmUp.Minimum, () => EndToEnd.RunAsync(variant, broker, scenario));
                    }

                    var results = variants.ToDictionary(v => v, _ => new List<RunResult>());
                    for (var round = 0; round < runs; round++)
                    {
                        // raw, typed, raw, typed...: alternate which goes first so drift in machine load cancels; traced and the floor close each round.
                        var order = round % 2 == 0
                            ? new[] { Variant.Raw, Variant.Typed, Variant.C, Variant.TypedThread, Variant.TypedTraced, Variant.Floor }
                            : new[] { Variant.TypedThread, Variant.C, Variant.Typed, Variant.Raw, Variant.TypedTraced, Variant.Floor };
                        foreach (var variant in order.Where(variants.Contains))
                        {
                            var result = await EndToEnd.RunAsync(variant, broker, scenario);
                            results[variant].Add(result);
                            Console.WriteLine($"[e2e] {broker.Name,-9} {scenario.Name,-17} {variant,-11} run {round + 1}: {result.MessagesPerSecond,9:N0} msg/s {result.BytesPerMessage,7:N0} B/msg {result.CpuMicrosecondsPerMessage,6:N1} us CPU/msg, broker {result.BrokerCpuMicrosecondsPerMessage,5:N1} us/msg {100 * result.BrokerBusy,4:N0}% busy {100 * result.BrokerWaiting,3:N0}% waiting, {result.BrokerCallsPerMessage}/msg{(result.Received < result.Sent ? $" LOST {result.Sent - result.Received}" : string.Empty)}");
                        }
                    }

                    foreach (var (variant, list) in results)
                    {
                        medians[(broker.Name, scenario.Name, variant)] = (Median(list.Select(x => x.MessagesPerSecond)), Median(list.Select(x => x.BytesPerMessage)), Median(list.Select(x => x.CpuMicrosecondsPerMessage)),
                            Median(list.Select(x => x.BrokerCpuMicrosecondsPerMessage)), Median(list.Select(x => x.BrokerBusy)), Median(list.Select(x => x.BrokerWaiting)),
                            Median(list.Select(x => (double)x.Broker.Reads / x.Sent)), Median(list.Select(x => (double)x.Broker.Writes / x.Sent)), Median(list.Select(x => (double)x.Broker.Wakes / x.Sent)));
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

                    if (withC && !scenario.WebSocket)
                    {
                        var c = medians[(broker.Name, scenario.Name, Variant.C)];
                        var own = medians[(broker.Name, scenario.Name, Variant.TypedThread)];
                        anchor.Add(
                        [
                            broker.Name, scenario.Name, F(c.Rate), F(typed.Rate), F(raw.Rate), F(typed.Rate / c.Rate, "0.00"),
                            $"{F(own.Rate)}; {F(own.Rate / c.Rate, "0.00")}; {F(own.Cpu, "0.0")}",
                            $"{F(c.Cpu, "0.0")} / {F(typed.Cpu, "0.0")} / {F(raw.Cpu, "0.0")}",
                            $"{F(c.BrokerCpu, "0.0")} / {F(typed.BrokerCpu, "0.0")} / {F(raw.BrokerCpu, "0.0")}",
                            $"{F(100 * c.BrokerBusy, "0")} / {F(100 * typed.BrokerBusy, "0")} / {F(100 * raw.BrokerBusy, "0")}",
                            $"{F(100 * c.BrokerWaiting, "0")} / {F(100 * typed.BrokerWaiting, "0")} / {F(100 * raw.BrokerWaiting, "0")}",
                            $"{F(c.BrokerReads, "0.0")}, {F(c.BrokerWrites, "0.0")}, {F(c.BrokerWakes, "0.00")}; {F(typed.BrokerReads, "0.0")}, {F(typed.BrokerWrites, "0.0")}, {F(typed.BrokerWakes, "0.00")}",
                            $"{F(1e6 / typed.BrokerCpu)}; {F(1e6 / typed.BrokerCpu / c.Rate, "0.00")}",
                            F(Lost(Variant.C)),
                        ]);
                        // Like for like: each C client reads on a thread of its own (mosquitto_loop_start), so the target is judged on
                        // the typed client configured the same way; the default (thread pool) is printed beside it.
                        var ownLost = Lost(Variant.TypedThread);
                        report.Target(
                            $"E2E throughput typed (own reading thread, as each C client has) >= 1.20 x the C client (libmosquitto): {broker.Name}, {scenario.Name}",
                            $"{F(own.Rate / c.Rate, "0.00")} x ({F(own.Rate)} vs {F(c.Rate)} msg/s; thread pool {F(typed.Rate / c.Rate, "0.00")} x){(ownLost > Lost(Variant.C) ? $" (but lost {F(ownLost)} vs {F(Lost(Variant.C))})" : string.Empty)}",
                            own.Rate >= 1.2 * c.Rate && ownLost <= Lost(Variant.C));
                        if (scenario.Qos == MqttQos.AtMostOnce)
                        {
                            report.Target(
                                $"At QoS 0 the broker is the bottleneck: broker busy >= 90 % during the typed run, and typed client CPU/msg < broker CPU/msg: {broker.Name}",
                                $"broker busy {F(100 * typed.BrokerBusy, "0")} % (and {F(100 * typed.BrokerWaiting, "0")} % ready but waiting for a CPU); typed {F(typed.Cpu, "0.0")} vs broker {F(typed.BrokerCpu, "0.0")} us/msg",
                                typed.BrokerBusy >= 0.9 && typed.Cpu < typed.BrokerCpu);
                        }
                    }

                    if (scenario.WebSocket)
                    {
                        continue;
                    }

                    var traced = medians[(broker.Name, scenario.Name, Variant.TypedTraced)];
                    telemetry.Add(
                    [
                        broker.Name, scenario.Name, F(typed.Rate), F(traced.Rate), F(traced.Rate / typed.Rate, "0.00"),
                        F(typed.Bytes), F(traced.Bytes), $"{F(typed.Cpu, "0.0")} / {F(traced.Cpu, "0.0")}",
                    ]);

                    // Telemetry that did its work without a listener would show as the same bytes with and without one.
                    report.Target($"E2E telemetry off costs no allocation: typed with no listener < 0.8 x traced B/msg: {broker.Name}, {scenario.Name}", $"{F(typed.Bytes)} vs {F(traced.Bytes)} B/msg ({F(typed.Bytes / traced.Bytes, "0.00")} x)", typed.Bytes < 0.8 * traced.Bytes);
                }

                var sequential = medians[(tcpBroker.Name, "QoS 1 sequential", Variant.Typed)].Rate;
                var windowed = medians[(tcpBroker.Name, "QoS 1 window 64", Variant.Typed)].Rate;
                var rawSequential = medians[(tcpBroker.Name, "QoS 1 sequential", Variant.Raw)].Rate;
                var rawWindowed = medians[(tcpBroker.Name, "QoS 1 window 64", Variant.Raw)].Rate;
                report.Target($"Typed QoS 1 window 64 >= 1.5 x QoS 1 sequential: {tcpBroker.Name}", $"{F(windowed / sequential, "0.00")} x (raw: {F(rawWindowed / rawSequential, "0.00")} x)", windowed >= 1.5 * sequential);
            }
            finally
            {
                if (webSocketBroker is not null)
                {
                    await webSocketBroker.DisposeAsync();
                }
            }
        }

        report.Note("E2E: 'typed layer above floor' = typed B/msg - floor B/msg, and its share of what the hand-written layer (raw - floor) allocates. " +
            "CPU us/msg = this process's CPU time (both clients, every thread, including the thread pool's spinning) per message, less sensitive to other load than msg/s. " +
            "Floor = MQTTnet with a pre-serialized payload, a pre-built message and a handler that only counts. Both brokers run in their own process. " +
            "C anchor: client CPU us/msg is the anchor process's (both libmosquitto clients); broker busy % = broker CPU time / the run's wall time (Mosquitto is single-threaded, so 100 % is its limit); broker waiting % = the time it was ready to run but every CPU was taken (by the clients, on this 2-core machine), both from /proc/<pid>/task/*/schedstat. " +
            "Broker reads, writes, sleeps per msg: its read and write system calls (/proc/<pid>/io: Mosquitto reads each packet in three calls and writes each in one) and its voluntary context switches (a wait for the network), per message; equal counts for C and typed mean the broker did the same work for both. " +
            "Typed, own reading thread = the typed client with MqttConnectionOptions.DedicatedReadingThread, a thread per connection as each libmosquitto client has (mosquitto_loop_start); the C-anchor targets are judged on it, like for like, and the thread-pool default's ratio is printed beside it. " +
            "The broker's limit = 1 s / its CPU per message in the typed run: no client gets more messages through it; limit/C is therefore the largest typed/C any client could reach in that run. " +
            "Lost messages are the broker's (the embedded broker keeps up to EmbeddedMqttBroker.MaxPendingMessagesPerClient = 100,000 per client, then drops the oldest); msg/s counts received messages only, and a throughput target FAILs when the typed client lost more messages than the hand-written one.");
    }
}
