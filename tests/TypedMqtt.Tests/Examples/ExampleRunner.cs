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
            output.AppendLine(line);
            if (!interrupted && line.Contains(interruptWhen, StringComparison.Ordinal))
            {
                interrupted = true;
                using var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                await kill.WaitForExitAsync();
            }
        }

        return output.ToString();
    }
}
