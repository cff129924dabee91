using System.Diagnostics;
using System.IO.Compression;

namespace TypedMqtt.Package.Tests;

/// <summary>
/// Packs the runtime (with the generator inside) and builds and runs a consumer that references the packed .nupkg from a
/// local folder, not the projects: proves the package layout and that the generator loads from analyzers/dotnet/cs.
/// </summary>
public sealed class PackedPackageTests
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    [Fact]
    public async Task Consumer_of_the_packed_nupkg_builds_and_its_generated_client_works()
    {
        var repository = FindRepositoryRoot();
        var work = Directory.CreateTempSubdirectory("typedmqtt-package-");
        try
        {
            var feed = Directory.CreateDirectory(Path.Combine(work.FullName, "feed")).FullName;
            await RunAsync("dotnet", ["pack", Path.Combine(repository, "runtime", "TypedMqtt.csproj"), "-c", Configuration, "--no-build", "-o", feed], repository);
            await RunAsync("dotnet", ["pack", Path.Combine(repository, "testing", "TypedMqtt.Testing.csproj"), "-c", Configuration, "--no-build", "-o", feed], repository);

            var package = Directory.GetFiles(feed, "TypedMqtt.*.nupkg").Single(p => char.IsDigit(Path.GetFileName(p)["TypedMqtt.".Length]));
            using (var zip = ZipFile.OpenRead(package))
            {
                var entries = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
                Assert.Contains("lib/net8.0/TypedMqtt.dll", entries);
                Assert.Contains("lib/net10.0/TypedMqtt.dll", entries);
                Assert.Contains("analyzers/dotnet/cs/TypedMqtt.Generator.dll", entries);

                // The core package does not bring a broker: MQTTnet.Server comes only with TypedMqtt.Testing.
                using var nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
                var manifest = await nuspec.ReadToEndAsync();
                Assert.Contains("id=\"MQTTnet\"", manifest, StringComparison.Ordinal);
                Assert.DoesNotContain("MQTTnet.Server", manifest, StringComparison.Ordinal);
            }

            var version = Path.GetFileNameWithoutExtension(package)["TypedMqtt.".Length..];
            var consumer = Directory.CreateDirectory(Path.Combine(work.FullName, "consumer")).FullName;
            var template = Path.Combine(AppContext.BaseDirectory, "Consumer");
            File.Copy(Path.Combine(template, "Program.cs"), Path.Combine(consumer, "Program.cs"));
            File.WriteAllText(Path.Combine(consumer, "Consumer.csproj"), File.ReadAllText(Path.Combine(template, "Consumer.csproj.template")).Replace("$VERSION$", version, StringComparison.Ordinal));
            File.WriteAllText(Path.Combine(consumer, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="typedmqtt-local" value="{feed}" />
                  </packageSources>
                  <config>
                    <add key="globalPackagesFolder" value="{Path.Combine(work.FullName, "packages")}" />
                  </config>
                </configuration>
                """);

            // The package lands in a private packages folder, never in the developer's global cache; its dependencies
            // come from the global cache as a fallback folder, so this needs no network when they are cached.
            var fallback = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            var output = await RunAsync("dotnet", ["run", "--project", consumer, "-c", "Release", $"-p:RestoreAdditionalProjectFallbackFolders={fallback}"], consumer);
            Assert.Contains("received 42:1.5:application/json", output, StringComparison.Ordinal);
            Assert.Contains("reply 7.5", output, StringComparison.Ordinal);
        }
        finally
        {
            work.Delete(recursive: true);
        }
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

    private static async Task<string> RunAsync(string file, string[] arguments, string directory)
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
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"'{file} {string.Join(' ', arguments)}' exited {process.ExitCode}:\n{output}");
        return output;
    }
}
