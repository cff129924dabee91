using System.IO.Compression;

namespace TypedMqtt.Package.Tests;

/// <summary>
/// Packs the runtime (with the generator inside) and builds and runs a consumer that references the packed .nupkg from a
/// local folder, not the projects: proves the package layout and that the generator loads from analyzers/dotnet/cs.
/// </summary>
public sealed class PackedPackageTests(PackageFeed feed) : IClassFixture<PackageFeed>
{
    [Fact]
    public async Task Consumer_of_the_packed_nupkg_builds_and_its_generated_client_works()
    {
        using (var zip = ZipFile.OpenRead(feed.CorePackage))
        {
            var entries = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
            Assert.Contains("lib/net8.0/TypedMqtt.dll", entries);
            Assert.Contains("lib/net10.0/TypedMqtt.dll", entries);
            Assert.Contains("analyzers/dotnet/cs/TypedMqtt.Generator.dll", entries);
            Assert.Contains("build/TypedMqtt.targets", entries);
            Assert.Contains("build/TypedMqtt.MSBuild.dll", entries);
            Assert.Contains("buildTransitive/TypedMqtt.targets", entries);

            // The core package does not bring a broker: MQTTnet.Server comes only with TypedMqtt.Testing.
            using var nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            var manifest = await nuspec.ReadToEndAsync();
            Assert.Contains("id=\"MQTTnet\"", manifest, StringComparison.Ordinal);
            Assert.DoesNotContain("MQTTnet.Server", manifest, StringComparison.Ordinal);
        }

        var consumer = feed.CreateConsumer("Consumer");
        var output = await PackageFeed.RunAsync("dotnet", ["run", "--project", consumer, "-c", "Release", PackageFeed.FallbackFolders], consumer);
        Assert.Contains("received 42:1.5:application/json", output, StringComparison.Ordinal);
        Assert.Contains("reply 7.5", output, StringComparison.Ordinal);

        // The package's build step wrote the consumer's AsyncAPI document next to its assembly.
        var document = Path.Combine(consumer, "bin", "Release", "net10.0", "Consumer.asyncapi.json");
        Assert.True(File.Exists(document), $"{document} was not written by the package's build step");
        var text = await File.ReadAllTextAsync(document);
        Assert.Contains("\"asyncapi\": \"3.0.0\"", text, StringComparison.Ordinal);
        Assert.Contains("sensors/{sensorId}/calibrate", text, StringComparison.Ordinal);
    }

    /// <summary>
    /// Native AOT: a consumer of the packed package publishes with PublishAot=true and no trim or AOT warning, and the
    /// native binary publishes, receives and makes a request through Mosquitto.
    /// </summary>
    [AotFact]
    public async Task Native_AOT_consumer_publishes_without_warnings_and_runs_against_Mosquitto()
    {
        var consumer = feed.CreateConsumer("AotConsumer");
        var publish = Path.Combine(consumer, "publish");
        var output = await PackageFeed.RunAsync("dotnet", ["publish", consumer, "-c", "Release", "-r", "linux-x64", "-o", publish, PackageFeed.FallbackFolders], consumer, TimeSpan.FromMinutes(8));
        var warnings = output.Split('\n').Where(l => l.Contains("warning", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.True(warnings.Count == 0, "publish warned:\n" + string.Join('\n', warnings));
        var native = Path.Combine(publish, "AotConsumer");
        Assert.True(File.Exists(native), $"no native binary at {native}:\n{output}");
        Assert.False(File.Exists(Path.Combine(publish, "AotConsumer.dll")), "the publish left IL behind: it was not native");
        Assert.True(File.Exists(Path.Combine(publish, "AotConsumer.asyncapi.json")), "dotnet publish left out the AsyncAPI document");

        await using var mosquitto = await Mosquitto.StartAsync();
        var run = await PackageFeed.RunAsync(native, [mosquitto.Address], consumer, TimeSpan.FromMinutes(1));
        Assert.Contains("received 42:1.5:AtLeastOnce", run, StringComparison.Ordinal);
        Assert.Contains("reply 7.5", run, StringComparison.Ordinal);
        Assert.Contains("native True", run, StringComparison.Ordinal);
    }
}
