using System.Diagnostics;

namespace TypedMqtt.Tests.Examples;

/// <summary>Runs a built example (examples/NAME/bin/CONFIG/net10.0/NAME.dll) and returns its exit code and output.</summary>
internal static class ExampleRunner
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    public static Task<(int ExitCode, string Output)> RunAsync(string name, params string[] arguments) =>
        RunAsync(name, null, arguments);

    /// <summary>Runs an example and sends it SIGINT (Ctrl-C) once a line of its output contains <paramref name="interruptWhen"/>.</summary>
    public static Task<(int ExitCode, string Output)> RunUntilInterruptedAsync(string name, string interruptWhen) =>
        RunAsync(name, interruptWhen, []);

    /// <summary>
    /// Runs an example until it exits; with <paramref name="interruptWhen"/>, sends it SIGINT (Ctrl-C) once a line of its
    /// output contains that text, as a user stopping a service would.
    /// </summary>
    private static async Task<(int ExitCode, string Output)> RunAsync(string name, string? interruptWhen, string[] arguments)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "TypedMqtt.sln")))
        {
            root = root.Parent;
        }

        var assembly = Path.Combine(root!.FullName, "examples", name, "bin", Configuration, "net10.0", name + ".dll");
        Assert.True(File.Exists(assembly), $"{assembly} was not built");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(assembly);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = interruptWhen is null ? process.StandardOutput.ReadToEndAsync() : ReadAndInterruptAsync(process, interruptWhen);
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{name} did not exit within 60 s:\n{await stdout}{await stderr}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static async Task<string> ReadAndInterruptAsync(Process process, string interruptWhen)
    {
        var output = new System.Text.StringBuilder();
        var interrupted = false;
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            lock (output)
            {
                output.AppendLine(line);
            }

            if (!interrupted && line.Contains(interruptWhen, StringComparison.Ordinal))
            {
                interrupted = true;
                await InterruptAsync(process, output);
            }
        }

        lock (output)
        {
            return output.ToString();
        }
    }

    /// <summary>
    /// Sends SIGINT, as Ctrl-C would; or SIGTERM, as a service manager would, when the process ignores SIGINT. It does
    /// when an ancestor started in the background of a non-interactive shell (<c>dotnet test &amp;</c>): such a shell
    /// ignores SIGINT for what it starts, the ignoring is inherited, and .NET keeps it. Both ask the host to stop.
    /// </summary>
    private static async Task InterruptAsync(Process process, System.Text.StringBuilder output)
    {
        var pid = process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var signal = IgnoresSigint(pid) ? "-TERM" : "-INT";
        if (signal == "-TERM")
        {
            lock (output)
            {
                output.AppendLine("[runner] the process ignores SIGINT (inherited from a background parent); sending SIGTERM");
            }
        }

        using var kill = Process.Start("kill", [signal, pid]);
        await kill.WaitForExitAsync();
    }

    private static bool IgnoresSigint(string pid)
    {
        var ignored = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return ignored is not null && (Convert.ToUInt64(ignored["SigIgn:".Length..].Trim(), 16) & (1UL << 1)) != 0; // bit 1: signal 2, SIGINT
    }
}
