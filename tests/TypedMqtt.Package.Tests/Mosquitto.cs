using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace TypedMqtt.Package.Tests;

/// <summary>A Mosquitto on a free loopback port, anonymous, for the native consumer; killed when disposed.</summary>
internal sealed class Mosquitto : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private Mosquitto(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Address = $"mqtt://127.0.0.1:{port}";
    }

    public string Address { get; }

    /// <summary>The mosquitto binary on PATH or in /usr/sbin, where Debian puts it.</summary>
    public static string? FindBinary() => Find("mosquitto", "/usr/sbin", "/usr/local/sbin");

    /// <summary>A program on PATH (or in the extra folders), or null.</summary>
    public static string? Find(string name, params string[] extraFolders) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(extraFolders)
            .Select(folder => Path.Combine(folder, name))
            .FirstOrDefault(File.Exists);

    public static async Task<Mosquitto> StartAsync()
    {
        var binary = FindBinary() ?? throw new InvalidOperationException("Mosquitto is not installed: sudo apt-get install mosquitto");
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var directory = Directory.CreateTempSubdirectory("typedmqtt-mosquitto-").FullName;
        var config = Path.Combine(directory, "mosquitto.conf");
        await File.WriteAllTextAsync(config, $"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n");
        var process = Process.Start(new ProcessStartInfo(binary, ["-c", config]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var broker = new Mosquitto(process, directory, port);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return broker;
            }
            catch (SocketException) when (attempt < 100 && !process.HasExited)
            {
                await Task.Delay(50);
            }
            catch (SocketException)
            {
                await broker.DisposeAsync();
                throw new InvalidOperationException($"Mosquitto did not start on port {port}.");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>
/// A fact that needs a native toolchain (clang, and zlib1g-dev for the linker) and Mosquitto: skipped with an install hint
/// when either is missing, unless TYPEDMQTT_REQUIRE_AOT=1 (as in CI).
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class AotFactAttribute : FactAttribute
{
    public AotFactAttribute()
    {
        var missing = new[] { ("clang", Mosquitto.Find("clang")), ("mosquitto", Mosquitto.FindBinary()) }.Where(t => t.Item2 is null).Select(t => t.Item1).ToList();
        if (missing.Count > 0 && Environment.GetEnvironmentVariable("TYPEDMQTT_REQUIRE_AOT") != "1")
        {
            Skip = $"Native AOT needs {string.Join(" and ", missing)}: sudo apt-get install clang zlib1g-dev mosquitto (or set TYPEDMQTT_REQUIRE_AOT=1 to make this a failure).";
        }
    }
}
