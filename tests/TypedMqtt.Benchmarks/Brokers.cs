using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace TypedMqtt.Benchmarks;

/// <summary>A broker the E2E harness talks to. Both kinds run in their own process, so every byte allocated in this process is client side.</summary>
internal sealed class BrokerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string? _directory;

    private BrokerProcess(string name, Process process, int port, string? directory, int webSocketPort = 0)
    {
        Name = name;
        _process = process;
        Port = port;
        _directory = directory;
        WebSocketPort = webSocketPort;
    }

    /// <summary>Mosquitto's WebSocket listener (path /mqtt), or 0 (none: the embedded broker, or Mosquitto started without one).</summary>
    public int WebSocketPort { get; }

    /// <summary>The address a scenario connects to: TCP, or the WebSocket listener.</summary>
    public string AddressFor(Scenario scenario) =>
        !scenario.WebSocket ? Address
        : WebSocketPort != 0 ? $"ws://127.0.0.1:{WebSocketPort}/mqtt"
        : throw new InvalidOperationException($"{Name} has no WebSocket listener.");

    public string Name { get; }

    public int Port { get; }

    public string Address => $"mqtt://127.0.0.1:{Port}";

    /// <summary>Raw MQTTnet options for this broker's TCP listener: MQTT 5, clean start.</summary>
    public MQTTnet.MqttClientOptions RawOptions(string clientId) =>
        new MQTTnet.MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", Port).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).WithClientId(clientId).WithCleanStart(true).Build();

    /// <summary>Clock ticks per second of /proc/&lt;pid&gt;/stat (USER_HZ: 100 on Linux unless the kernel was built otherwise).</summary>
    private static readonly Lazy<double> TicksPerSecond = new(() =>
    {
        try
        {
            using var getconf = Process.Start(new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true })!;
            var text = getconf.StandardOutput.ReadToEnd().Trim();
            getconf.WaitForExit();
            return double.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ticks) && ticks > 0 ? ticks : 100;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return 100;
        }
    });

    /// <summary>
    /// The broker process's time on a CPU so far (every thread) and the time its threads were ready to run but waited for
    /// a CPU, in seconds, from /proc/&lt;pid&gt;/task/*/schedstat (nanoseconds); where that is missing, the CPU time from
    /// /proc/&lt;pid&gt;/stat (clock ticks, 10 ms) and no waiting; zeros where there is no /proc.
    /// </summary>
    public BrokerTime Time()
    {
        try
        {
            long running = 0, waiting = 0, wakes = 0;
            foreach (var task in Directory.EnumerateDirectories($"/proc/{_process.Id}/task"))
            {
                var fields = File.ReadAllText(Path.Combine(task, "schedstat")).Split(' ');
                running += long.Parse(fields[0], CultureInfo.InvariantCulture);
                waiting += long.Parse(fields[1], CultureInfo.InvariantCulture);
                wakes += StatusField(Path.Combine(task, "status"), "voluntary_ctxt_switches:");
            }

            var io = Path.Combine($"/proc/{_process.Id}", "io");
            return new BrokerTime(running / 1e9, waiting / 1e9, wakes, StatusField(io, "syscr:"), StatusField(io, "syscw:"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new BrokerTime(CpuSecondsFromStat(), 0);
        }
    }

    /// <summary>A "name: value" line's value in a /proc file such as status or io (0 when the file or the line is missing).</summary>
    private static long StatusField(string path, string name)
    {
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                if (line.StartsWith(name, StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(name.Length).Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return 0;
    }

    private double CpuSecondsFromStat()
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // after "pid (comm) ": field 3 is state
            return (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond.Value;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public static string? FindMosquitto() =>
        new[] { "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/bin/mosquitto" }.FirstOrDefault(File.Exists);

    /// <summary>
    /// Mosquitto on a free loopback port with a minimal config: no logging (logging every PUBLISH would measure the disk),
    /// no persistence, and in-flight/queue limits above the benchmark's window of 64 so the broker is not the limiter.
    /// With <paramref name="noDelay"/> the broker turns Nagle's algorithm off on its sockets (<c>set_tcp_nodelay true</c>):
    /// the latency suite needs it, since without it a QoS 0 subscriber, which sends nothing back, waits for its own
    /// delayed ACK (up to 40 ms) before the broker sends the next small packet.
    /// </summary>
    /// With <paramref name="webSockets"/> it also listens for MQTT over WebSocket (<see cref="WebSocketPort"/>). Only the
    /// WebSocket rows ask for it: with a WebSocket listener Mosquitto 2.0 services libwebsockets, a poll() system call, on
    /// every turn of its loop, which is every packet it reads; perf put that at 6 % of its CPU in the TCP QoS 0 run, a cost
    /// the TCP rows would otherwise count against the broker's limit (docs/performance.md, stop 23).
    /// With <paramref name="manyConnections"/> it accepts any number of connections (<c>max_connections -1</c>; the file
    /// limit is this process's, which it inherits), and <paramref name="port"/> reuses a port (a restart).
    public static async Task<BrokerProcess> StartMosquittoAsync(bool noDelay = false, bool manyConnections = false, int? port = null, bool webSockets = false)
    {
        var binary = FindMosquitto() ?? throw new InvalidOperationException("mosquitto is not installed (apt-get install -y mosquitto).");
        var directory = Path.Combine(Path.GetTempPath(), "typedmqtt-bench-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var tcpPort = port ?? FreePort();
        var lines = new List<string>
        {
            $"listener {tcpPort.ToString(CultureInfo.InvariantCulture)} 127.0.0.1",
            "allow_anonymous true",
            "persistence false",
            "log_dest none",
            "max_inflight_messages 1000",
            "max_queued_messages 1000000",
        };
        var webSocketPort = webSockets ? FreePort() : 0;
        if (webSockets)
        {
            lines.AddRange([$"listener {webSocketPort.ToString(CultureInfo.InvariantCulture)} 127.0.0.1", "protocol websockets", "socket_domain ipv4", "allow_anonymous true"]);
        }

        if (noDelay)
        {
            lines.Add("set_tcp_nodelay true");
        }

        if (manyConnections)
        {
            lines.Add("max_connections -1");
        }

        if (Environment.UserName == "root")
        {
            lines.Add("user root");
        }

        var config = Path.Combine(directory, "mosquitto.conf");
        await File.WriteAllLinesAsync(config, lines).ConfigureAwait(false);
        var start = new ProcessStartInfo(binary) { ArgumentList = { "-c", config }, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + binary);
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var broker = new BrokerProcess("mosquitto", process, tcpPort, directory, webSocketPort);
        await broker.WaitForPortAsync().ConfigureAwait(false);
        return broker;
    }

    /// <summary>TypedMqtt's <see cref="EmbeddedMqttBroker"/> (MQTTnet.Server), hosted by this same executable in a child process.</summary>
    public static async Task<BrokerProcess> StartEmbeddedAsync()
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) is "dotnet")
        {
            start.ArgumentList.Add(typeof(BrokerProcess).Assembly.Location);
        }

        start.ArgumentList.Add(HostEmbeddedArgument);
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the embedded broker host");
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        if (line is null || !line.StartsWith("PORT ", StringComparison.Ordinal))
        {
            process.Kill();
            throw new InvalidOperationException("the embedded broker host did not report its port: " + line);
        }

        var broker = new BrokerProcess("embedded", process, int.Parse(line[5..], CultureInfo.InvariantCulture), null);
        await broker.WaitForPortAsync().ConfigureAwait(false);
        return broker;
    }

    public const string HostEmbeddedArgument = "--host-embedded-broker";

    /// <summary>The child side of <see cref="StartEmbeddedAsync"/>: runs the broker until stdin closes.</summary>
    public static async Task HostEmbeddedAsync()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync().ConfigureAwait(false);
        Console.WriteLine("PORT " + broker.Port.ToString(CultureInfo.InvariantCulture));
        Console.Out.Flush();
        await Console.In.ReadToEndAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            _process.Dispose();
        }

        if (_directory is not null)
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // Left in the temp directory; harmless.
            }
        }
    }

    private async Task WaitForPortAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} before listening on {Port}.");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port).ConfigureAwait(false);
                return;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(15))
            {
                await Task.Delay(50).ConfigureAwait(false);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>
/// A broker's time on a CPU and its time ready to run but waiting for one (both in seconds, summed over its threads); how
/// often its threads went to sleep (voluntary context switches: each is a wait for the network that something woke); and
/// how many read and write system calls it made (/proc/&lt;pid&gt;/io: Mosquitto reads and writes sockets with read/write).
/// </summary>
internal readonly record struct BrokerTime(double Running, double Waiting, long Wakes = 0, long Reads = 0, long Writes = 0)
{
    public static BrokerTime operator -(BrokerTime after, BrokerTime before) =>
        new(after.Running - before.Running, after.Waiting - before.Waiting, after.Wakes - before.Wakes, after.Reads - before.Reads, after.Writes - before.Writes);
}
