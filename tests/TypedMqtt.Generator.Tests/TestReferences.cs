using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;

namespace TypedMqtt.Generator.Tests;

/// <summary>
/// Metadata references for test compilations: the SDK's own net10.0 reference pack (offline and deterministic, see
/// STACK.md) plus the runtime's TypedMqtt.dll and the assemblies it exposes.
/// </summary>
internal static class TestReferences
{
    private static readonly Lazy<ImmutableArray<MetadataReference>> LazyAll = new(Load);

    /// <summary>Tells the testing library to resolve nothing itself; <see cref="All"/> is added as additional references.</summary>
    public static ReferenceAssemblies None { get; } = new("net10.0");

    public static ImmutableArray<MetadataReference> All => LazyAll.Value;

    private static ImmutableArray<MetadataReference> Load()
    {
        var builder = ImmutableArray.CreateBuilder<MetadataReference>();
        foreach (var path in Directory.EnumerateFiles(ReferencePackDirectory(), "*.dll").Order(StringComparer.Ordinal))
        {
            builder.Add(MetadataReference.CreateFromFile(path));
        }

        // TypedMqtt.dll and what its public surface mentions (MQTTnet, logging abstractions), from this test's output.
        var runtime = typeof(MqttContractAttribute).Assembly;
        builder.Add(MetadataReference.CreateFromFile(runtime.Location));
        builder.Add(MetadataReference.CreateFromFile(typeof(TypedMqtt.Testing.MqttFakeAttribute).Assembly.Location)); // [MqttFake]
        foreach (var name in runtime.GetReferencedAssemblies())
        {
            var path = Path.Combine(AppContext.BaseDirectory, name.Name + ".dll");
            if (File.Exists(path))
            {
                builder.Add(MetadataReference.CreateFromFile(path));
            }
        }

        return builder.ToImmutable();
    }

    /// <summary>
    /// dotnet/shared/Microsoft.NETCore.App/{version}/System.Private.CoreLib.dll leads to
    /// dotnet/packs/Microsoft.NETCore.App.Ref/{version}/ref/net10.0. Prefer the running version, else the newest installed.
    /// </summary>
    private static string ReferencePackDirectory()
    {
        var runtimeDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var version = Path.GetFileName(runtimeDirectory);
        var dotnetRoot = Path.GetFullPath(Path.Combine(runtimeDirectory, "..", "..", ".."));
        var packs = Path.Combine(dotnetRoot, "packs", "Microsoft.NETCore.App.Ref");
        var exact = Path.Combine(packs, version, "ref", "net10.0");
        if (Directory.Exists(exact))
        {
            return exact;
        }

        var newest = Directory.Exists(packs)
            ? Directory.EnumerateDirectories(packs)
                .Select(d => Path.Combine(d, "ref", "net10.0"))
                .Where(Directory.Exists)
                .OrderByDescending(d => Version.TryParse(Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(d))!).Split('-')[0], out var v) ? v : new Version())
                .FirstOrDefault()
            : null;
        return newest ?? throw new InvalidOperationException($"No net10.0 reference pack under '{packs}'; the .NET 10 SDK is required to run the generator tests.");
    }
}
