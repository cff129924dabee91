using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TypedMqtt.Tests.Infrastructure;

/// <summary>What a <see cref="MosquittoBroker"/> listens on and any extra configuration.</summary>
public sealed record MosquittoSetup
{
    /// <summary>Plain TCP (anonymous), TCP with a password file, WebSocket, TLS, mutual TLS and WebSocket over TLS.</summary>
    public static MosquittoSetup AllListeners { get; } = new();

    /// <summary>Only the anonymous plain TCP listener.</summary>
    public bool PlainOnly { get; init; }

    /// <summary>Lines added to the global section (options that apply to every listener).</summary>
    public string GlobalConfig { get; init; } = string.Empty;

    /// <summary>Lines added to the anonymous plain TCP listener.</summary>
    public string PlainListenerConfig { get; init; } = string.Empty;

    /// <summary>
    /// Further listeners, one configuration block each (without the <c>listener</c> line): each gets a free loopback
    /// port, in order, exposed as <see cref="MosquittoBroker.ExtraPorts"/>.
    /// </summary>
    public IReadOnlyList<string> ExtraListeners { get; init; } = [];
}

/// <summary>
/// A real Mosquitto process on free loopback ports, configured in a temporary directory and killed by its PID on dispose.
/// </summary>
public sealed class MosquittoBroker : IAsyncDisposable
{
    public const string InstallHint = "Mosquitto is not installed: sudo apt-get install mosquitto mosquitto-clients (or set TYPEDMQTT_REQUIRE_MOSQUITTO=1 to make this a failure).";
    public const string UserName = "alice";
    public const string Password = "s3cret: with spaces & symbols";

    private readonly StringBuilder _output;
    private readonly string _binary;
    private readonly string _configFile;
    private Process _process;
    private int[] _ports = [];

    private MosquittoBroker(string binary, string configFile, StringBuilder output, string directory, TestCertificates? certificates)
    {
        _binary = binary;
        _configFile = configFile;
        _output = output;
        Directory = directory;
        Certificates = certificates;
        _process = StartProcess();
    }

    /// <summary>The process id of the running (or last) mosquitto.</summary>
    public int ProcessId => _process.Id;

    /// <summary>How often this broker was started again after a stop.</summary>
    public int Restarts { get; private set; }

    public string Directory { get; }

    public TestCertificates? Certificates { get; }

    public int TcpPort { get; private init; }

    public int PasswordPort { get; private init; }

    public int WebSocketPort { get; private init; }

    public int TlsPort { get; private init; }

    public int MutualTlsPort { get; private init; }

    public int SecureWebSocketPort { get; private init; }

    /// <summary>The ports of <see cref="MosquittoSetup.ExtraListeners"/>, in the same order.</summary>
    public IReadOnlyList<int> ExtraPorts { get; private init; } = [];

    public string TcpAddress => $"mqtt://127.0.0.1:{TcpPort}";

    public string LogPath => Path.Combine(Directory, "mosquitto.log");

    /// <summary>Mosquitto's log file plus whatever it printed, for failure messages.</summary>
    public string Log
    {
        get
        {
            var log = File.Exists(LogPath) ? File.ReadAllText(LogPath) : "(no log file)";
            lock (_output)
            {
                return log + Environment.NewLine + _output;
            }
        }
    }

    public static bool IsRequired =>
        string.Equals(Environment.GetEnvironmentVariable("TYPEDMQTT_REQUIRE_MOSQUITTO"), "1", StringComparison.Ordinal);

    /// <summary>The mosquitto binary on PATH or in /usr/sbin (where Debian puts it, often not on a user's PATH).</summary>
    public static string? FindBinary()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Append("/usr/sbin").Append("/usr/local/sbin"))
        {
            var candidate = Path.Combine(directory, "mosquitto");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static string? FindPasswordTool(string mosquitto)
    {
        foreach (var candidate in new[] { Path.Combine(Path.GetDirectoryName(mosquitto)!, "mosquitto_passwd"), "/usr/bin/mosquitto_passwd", "/usr/local/bin/mosquitto_passwd" })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public static async Task<MosquittoBroker> StartAsync(MosquittoSetup setup)
    {
        var binary = FindBinary() ?? throw new InvalidOperationException(InstallHint);
        var directory = Path.Combine(Path.GetTempPath(), "typedmqtt-mosquitto-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(directory);
        var persistence = Path.Combine(directory, "data");
        System.IO.Directory.CreateDirectory(persistence);

        var standardPorts = setup.PlainOnly ? 1 : 6;
        var ports = FreePorts(standardPorts + setup.ExtraListeners.Count);
        var config = new StringBuilder();
        config.AppendLine("per_listener_settings true");
        config.AppendLine("persistence true");
        config.AppendLine(CultureInfo.InvariantCulture, $"persistence_location {persistence}/");
        config.AppendLine(CultureInfo.InvariantCulture, $"log_dest file {Path.Combine(directory, "mosquitto.log")}");
        config.AppendLine("log_type all");
        config.AppendLine("log_timestamp_format %H:%M:%S");
        if (Environment.UserName == "root")
        {
            // Started as root, mosquitto switches to the 'mosquitto' user, which cannot write our temp directory.
            config.AppendLine("user root");
        }

        config.AppendLine(setup.GlobalConfig);
        config.AppendLine(CultureInfo.InvariantCulture, $"listener {ports[0]} 127.0.0.1");
        config.AppendLine("allow_anonymous true");
        config.AppendLine(setup.PlainListenerConfig);

        TestCertificates? certificates = null;
        if (!setup.PlainOnly)
        {
            certificates = TestCertificates.Create(Path.Combine(directory, "certs"));
            var passwordFile = Path.Combine(directory, "passwd");
            await CreatePasswordFileAsync(binary, passwordFile);
            var tls = $"cafile {certificates.CaFile}\ncertfile {certificates.ServerCertificateFile}\nkeyfile {certificates.ServerKeyFile}";

            config.AppendLine(CultureInfo.InvariantCulture, $"listener {ports[1]} 127.0.0.1");
            config.AppendLine("allow_anonymous false");
            config.AppendLine(CultureInfo.InvariantCulture, $"password_file {passwordFile}");

            config.AppendLine(CultureInfo.InvariantCulture, $"listener {ports[2]} 127.0.0.1");
            config.AppendLine("protocol websockets");
            config.AppendLine("socket_domain ipv4");
            config.AppendLine("allow_anonymous true");

            config.AppendLine(CultureInfo.InvariantCulture, $"listener {ports[3]} 127.0.0.1");
            config.AppendLine(tls);
            config.AppendLine("allow_anonymous true");

            config.AppendLine(CultureInfo.InvariantCulture, $"listener {ports[4]} 127.0.0.1");
            config.AppendLine(tls);
            config.AppendLine("require_certificate true");
            config.AppendLine("use_identity_as_username true");
            config.AppendLine("allow_anonymous true");

            config.AppendLine(CultureInfo.InvariantCulture, $"listener {ports[5]} 127.0.0.1");
            config.AppendLine("protocol websockets");
            config.AppendLine("socket_domain ipv4");
            config.AppendLine(tls);
            config.AppendLine("allow_anonymous true");
        }

        for (var i = 0; i < setup.ExtraListeners.Count; i++)
        {
            config.AppendLine(CultureInfo.InvariantCulture, $"listener {ports[standardPorts + i]} 127.0.0.1");
            config.AppendLine(setup.ExtraListeners[i]);
        }

        var configFile = Path.Combine(directory, "mosquitto.conf");
        await File.WriteAllTextAsync(configFile, config.ToString());

        var broker = new MosquittoBroker(binary, configFile, new StringBuilder(), directory, certificates)
        {
            _ports = ports,
            TcpPort = ports[0],
            PasswordPort = setup.PlainOnly ? 0 : ports[1],
            WebSocketPort = setup.PlainOnly ? 0 : ports[2],
            TlsPort = setup.PlainOnly ? 0 : ports[3],
            MutualTlsPort = setup.PlainOnly ? 0 : ports[4],
            SecureWebSocketPort = setup.PlainOnly ? 0 : ports[5],
            ExtraPorts = ports[standardPorts..],
        };

        try
        {
            await broker.WaitForPortsAsync();
        }
        catch
        {
            await broker.DisposeAsync();
            throw;
        }

        return broker;
    }

    /// <summary>Stops mosquitto with SIGTERM (it saves its persistence file on the way out) and waits for it to exit.</summary>
    /// <returns>A task that completes when the process has exited.</returns>
    public Task TerminateAsync() => StopAsync("TERM");

    /// <summary>Kills mosquitto with SIGKILL: whatever was not autosaved yet is lost.</summary>
    /// <returns>A task that completes when the process has exited.</returns>
    public Task KillAsync() => StopAsync("KILL");

    /// <summary>Freezes mosquitto with SIGSTOP: its sockets stay open and the kernel still accepts bytes, nothing answers.</summary>
    /// <returns>A task that completes when the signal was sent.</returns>
    public Task PauseAsync() => SignalAsync("STOP");

    /// <summary>Thaws a paused mosquitto with SIGCONT.</summary>
    /// <returns>A task that completes when the signal was sent.</returns>
    public Task ResumeAsync() => SignalAsync("CONT");

    /// <summary>Starts mosquitto again with the same configuration, ports and persistence directory.</summary>
    /// <returns>A task that completes when every listener accepts connections.</returns>
    public async Task StartAgainAsync()
    {
        if (!_process.HasExited)
        {
            throw new InvalidOperationException("mosquitto is still running; stop it first.");
        }

        _process.Dispose();
        _process = StartProcess();
        Restarts++;
        await WaitForPortsAsync();
    }

    /// <summary>SIGTERM and start again on the same ports.</summary>
    /// <returns>A task that completes when the new process listens.</returns>
    public async Task RestartAsync()
    {
        await TerminateAsync();
        await StartAgainAsync();
    }

    private async Task StopAsync(string signal)
    {
        if (_process.HasExited)
        {
            return;
        }

        await SignalAsync(signal);
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
        }
        catch (TimeoutException)
        {
            throw new InvalidOperationException($"mosquitto did not exit within 15 s of SIG{signal}. Log:\n{Log}");
        }
    }

    private async Task SignalAsync(string signal)
    {
        var start = new ProcessStartInfo("kill") { ArgumentList = { "-s", signal, _process.Id.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false };
        using var kill = Process.Start(start) ?? throw new InvalidOperationException("Could not run kill");
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -s {signal} {_process.Id} failed with {kill.ExitCode}");
        }
    }

    private Process StartProcess()
    {
        var start = new ProcessStartInfo(_binary)
        {
            ArgumentList = { "-c", _configFile },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start " + _binary);
        process.OutputDataReceived += (_, e) => Append(_output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(_output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task WaitForPortsAsync()
    {
        foreach (var port in _ports)
        {
            await WaitForPortAsync(port, TimeSpan.FromSeconds(15));
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
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

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Left in the temp directory; harmless.
        }
    }

    private async Task WaitForPortAsync(int port, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"mosquitto exited with code {_process.ExitCode} before listening on {port}. Log:\n{Log}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (deadline.Elapsed < timeout)
            {
                await Task.Delay(50);
            }
            catch (SocketException e)
            {
                throw new InvalidOperationException($"mosquitto did not listen on {port} within {timeout.TotalSeconds} s ({e.Message}). Log:\n{Log}", e);
            }
        }
    }

    private static async Task CreatePasswordFileAsync(string mosquitto, string passwordFile)
    {
        var tool = FindPasswordTool(mosquitto) ?? throw new InvalidOperationException("mosquitto_passwd was not found next to mosquitto; install the mosquitto package.");
        var start = new ProcessStartInfo(tool)
        {
            ArgumentList = { "-b", "-c", passwordFile, UserName, Password },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start " + tool);
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"mosquitto_passwd failed with {process.ExitCode}: {await stderr}");
        }
    }

    private static int[] FreePorts(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }

            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }
}
