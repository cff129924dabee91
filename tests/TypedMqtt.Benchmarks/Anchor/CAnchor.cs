using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace TypedMqtt.Benchmarks;

/// <summary>
/// The C anchor: <c>Anchor/mosquitto_anchor.c</c>, a libmosquitto publisher and subscriber in one process, compiled
/// here with gcc on first use (it needs <c>libmosquitto-dev</c>: <c>apt-get install -y gcc libmosquitto-dev</c>) and run
/// for each round through the same broker, payload and topic as the .NET variants.
/// </summary>
internal static class CAnchor
{
    private static readonly Lazy<(string? Binary, string? Why)> Built = new(Build);

    public const string InstallHint = "apt-get install -y gcc libmosquitto-dev";

    /// <summary>The compiled anchor, or null with why it could not be built.</summary>
    public static (string? Binary, string? Why) Binary => Built.Value;

    private static (string? Binary, string? Why) Build()
    {
        var source = Path.Combine(AppContext.BaseDirectory, "Anchor", "mosquitto_anchor.c");
        if (!File.Exists("/usr/include/mosquitto.h"))
        {
            return (null, $"libmosquitto-dev is not installed ({InstallHint})");
        }

        var binary = Path.Combine(Path.GetTempPath(), "typedmqtt-anchor", "mosquitto_anchor");
        Directory.CreateDirectory(Path.GetDirectoryName(binary)!);
        if (File.Exists(binary) && File.GetLastWriteTimeUtc(binary) > File.GetLastWriteTimeUtc(source))
        {
            return (binary, null);
        }

        var start = new ProcessStartInfo("gcc") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "-O2", "-Wall", "-Wextra", "-Werror", "-o", binary, source, "-lmosquitto", "-lpthread" })
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var gcc = Process.Start(start)!;
            var errors = gcc.StandardError.ReadToEnd();
            gcc.WaitForExit();
            return gcc.ExitCode == 0 ? (binary, null) : (null, "gcc failed: " + errors.Trim());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (null, $"gcc is not installed ({InstallHint}): {e.Message}");
        }
    }

    /// <summary>One run: the anchor connects and subscribes, then (with the broker's CPU read on both sides) publishes and counts.</summary>
    public static async Task<RunResult> RunAsync(string binary, BrokerProcess broker, Scenario scenario)
    {
        using var process = await StartAsync(binary, broker, scenario.Qos, scenario.Window, scenario.Messages, null).ConfigureAwait(false);
        var brokerBefore = broker.Time();
        var parts = await GoAsync(process).ConfigureAwait(false);
        var brokerTime = broker.Time() - brokerBefore;
        if (parts is not ["result", var sent, var received, var seconds, var cpu])
        {
            throw new InvalidOperationException($"the C anchor printed '{string.Join(' ', parts)}'");
        }

        return new RunResult(Int(sent), Int(received), Double(seconds), 0, Double(cpu), brokerTime);
    }

    /// <summary>One latency run of the anchor (see <see cref="LatencySuite"/>): the same schedule, measured in C.</summary>
    public static async Task<LatencyResult> RunLatencyAsync(string binary, BrokerProcess broker, LatencyScenario scenario)
    {
        using var process = await StartAsync(binary, broker, scenario.Qos, 1, scenario.Messages, scenario.Rate).ConfigureAwait(false);
        var parts = await GoAsync(process).ConfigureAwait(false);
        if (parts is not ["latency", var sent, var received, var p50, var p99, var p999])
        {
            throw new InvalidOperationException($"the C anchor printed '{string.Join(' ', parts)}'");
        }

        return new LatencyResult(Int(sent), Int(received), Double(p50), Double(p99), Double(p999));
    }

    private static int Int(string text) => int.Parse(text, CultureInfo.InvariantCulture);

    private static double Double(string text) => double.Parse(text, CultureInfo.InvariantCulture);

    /// <summary>Starts the anchor and waits until both its clients are connected and subscribed.</summary>
    private static async Task<Process> StartAsync(string binary, BrokerProcess broker, MqttQos qos, int window, int messages, int? rate)
    {
        var payload = JsonSerializer.Serialize(Reading.Sample, BenchJson.Default.Reading);
        var start = new ProcessStartInfo(binary) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            broker.Port.ToString(CultureInfo.InvariantCulture), ((int)qos).ToString(CultureInfo.InvariantCulture),
            window.ToString(CultureInfo.InvariantCulture), messages.ToString(CultureInfo.InvariantCulture), "bench/dev-0001/reading", payload,
        })
        {
            start.ArgumentList.Add(argument);
        }

        if (rate is { } perSecond)
        {
            start.ArgumentList.Add(perSecond.ToString(CultureInfo.InvariantCulture));
        }

        var process = Process.Start(start)!;
        var ready = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        if (ready != "ready")
        {
            process.Kill();
            throw new InvalidOperationException($"the C anchor did not get ready: {ready} {await process.StandardError.ReadToEndAsync().ConfigureAwait(false)}");
        }

        return process;
    }

    /// <summary>Tells the anchor to start and returns the words of its result line.</summary>
    private static async Task<string[]> GoAsync(Process process)
    {
        try
        {
            await process.StandardInput.WriteLineAsync("go").ConfigureAwait(false);
            await process.StandardInput.FlushAsync().ConfigureAwait(false);
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2)).ConfigureAwait(false);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            return line?.Split(' ') ?? ["(nothing)", await process.StandardError.ReadToEndAsync().ConfigureAwait(false)];
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }
}
