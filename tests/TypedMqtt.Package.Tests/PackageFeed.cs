using System.Diagnostics;

namespace TypedMqtt.Package.Tests;

/// <summary>
/// Packs TypedMqtt and TypedMqtt.Testing once into a local folder, and makes consumer projects that restore from it
/// (into a private packages folder, never the developer's global cache). Deleted with its consumers afterwards.
/// </summary>
public sealed class PackageFeed : IAsyncLifetime
{
#if DEBUG
    public const string Configuration = "Debug";
#else
    public const string Configuration = "Release";
#endif

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("typedmqtt-package-");

    public string Folder => Path.Combine(_work.FullName, "feed");

    /// <summary>The packed TypedMqtt package (not the .snupkg, not TypedMqtt.Testing).</summary>
    public string CorePackage => Directory.GetFiles(Folder, "TypedMqtt.*.nupkg").Single(p => char.IsDigit(Path.GetFileName(p)["TypedMqtt.".Length]));

    public string Version => Path.GetFileNameWithoutExtension(CorePackage)["TypedMqtt.".Length..];

    public static string Repository { get; } = FindRepositoryRoot();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Folder);
        await RunAsync("dotnet", ["pack", Path.Combine(Repository, "runtime", "TypedMqtt.csproj"), "-c", Configuration, "--no-build", "-o", Folder], Repository);
        await RunAsync("dotnet", ["pack", Path.Combine(Repository, "testing", "TypedMqtt.Testing.csproj"), "-c", Configuration, "--no-build", "-o", Folder], Repository);
    }

    public Task DisposeAsync()
    {
        _work.Delete(recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>
    /// A consumer project from a template folder copied to the build output: its .csproj.template with the version filled
    /// in, its .cs files, the shared contract (Consumer/Contract.cs) and a nuget.config that points at the feed.
    /// </summary>
    public string CreateConsumer(string template)
    {
        var consumer = Directory.CreateDirectory(Path.Combine(_work.FullName, template)).FullName;
        var source = Path.Combine(AppContext.BaseDirectory, template);
        foreach (var file in Directory.GetFiles(source, "*.cs").Append(Path.Combine(AppContext.BaseDirectory, "Consumer", "Contract.cs")).Distinct())
        {
            File.Copy(file, Path.Combine(consumer, Path.GetFileName(file)), overwrite: true);
        }

        File.WriteAllText(Path.Combine(consumer, template + ".csproj"), File.ReadAllText(Path.Combine(source, template + ".csproj.template")).Replace("$VERSION$", Version, StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(consumer, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="typedmqtt-local" value="{Folder}" />
              </packageSources>
              <config>
                <add key="globalPackagesFolder" value="{Path.Combine(_work.FullName, "packages")}" />
              </config>
            </configuration>
            """);
        return consumer;
    }

    /// <summary>
    /// An MSBuild property that lets a consumer take its other dependencies from the global cache as a fallback folder,
    /// so it needs no network when they are cached.
    /// </summary>
    public static string FallbackFolders =>
        "-p:RestoreAdditionalProjectFallbackFolders=" + (Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"));

    public static async Task<string> RunAsync(string file, string[] arguments, string directory, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The consumer must not inherit this repository's MSBuild settings through the test host's environment.
        start.Environment.Remove("MSBuildExtensionsPath");
        start.Environment.Remove("MSBuildSDKsPath");
        start.Environment.Remove("MSBUILD_EXE_PATH");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(4));
        await process.WaitForExitAsync(cancel.Token);
        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"'{file} {string.Join(' ', arguments)}' exited {process.ExitCode}:\n{output}");
        return output;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "TypedMqtt.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("TypedMqtt.sln not found above " + AppContext.BaseDirectory);
    }
}
