using System.Diagnostics;
using System.Text;

namespace TypedMqtt.Tests.Reliability;

/// <summary>The TypedMqtt.OutboxWorker child process, built next to the tests.</summary>
internal sealed class OutboxWorker : IDisposable
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private OutboxWorker(Process process) => _process = process;

    public static OutboxWorker Start(params string[] arguments)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "TypedMqtt.sln")))
        {
            root = root.Parent;
        }

        var assembly = Path.Combine(root!.FullName, "tests", "TypedMqtt.OutboxWorker", "bin", Configuration, "net10.0", "TypedMqtt.OutboxWorker.dll");
        Assert.True(File.Exists(assembly), $"{assembly} was not built");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        start.ArgumentList.Add(assembly);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var worker = new OutboxWorker(Process.Start(start)!);
        worker._process.ErrorDataReceived += (_, e) =>
        {
            lock (worker._log)
            {
                worker._log.AppendLine("stderr: " + e.Data);
            }
        };
        worker._process.BeginErrorReadLine();
        return worker;
    }

    /// <summary>Reads stdout until a line starts with one of <paramref name="prefixes"/>; returns that line.</summary>
    public async Task<string> ExpectAsync(params string[] prefixes)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(45));
        while (true)
        {
            string? line;
            try
            {
                line = await _process.StandardOutput.ReadLineAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"The worker printed no '{string.Join("' or '", prefixes)}' within 45 s. Output:\n{Log}");
            }

            if (line is null)
            {
                throw new InvalidOperationException($"The worker ended before printing '{string.Join("' or '", prefixes)}'. Output:\n{Log}");
            }

            lock (_log)
            {
                _log.AppendLine(line);
            }

            if (prefixes.Any(p => line.StartsWith(p, StringComparison.Ordinal)))
            {
                return line;
            }
        }
    }

    public async Task SendLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    public void Kill() => _process.Kill(entireProcessTree: true);

    public async Task<int> WaitForExitAsync()
    {
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }
}
