using System.Diagnostics;
using System.Text.Json;

namespace TypedMqtt.Tests.AsyncApi;

/// <summary>
/// Runs tests/asyncapi/validate.mjs: the official AsyncAPI parser over a document, and ajv over sample payloads against
/// the schemas they point to. Needs Node.js and <c>npm ci --prefix tests/asyncapi</c>.
/// </summary>
internal static class AsyncApiValidator
{
#if DEBUG
    public const string Configuration = "Debug";
#else
    public const string Configuration = "Release";
#endif

    public const string InstallHint = "The AsyncAPI checks need Node.js and its packages: npm ci --prefix tests/asyncapi (or set TYPEDMQTT_REQUIRE_ASYNCAPI=1 to make this a failure).";

    public static string Root { get; } = FindRoot();

    public static bool IsInstalled => File.Exists(Path.Combine(Root, "tests", "asyncapi", "node_modules", "@asyncapi", "parser", "package.json"));

    public static bool IsRequired => Environment.GetEnvironmentVariable("TYPEDMQTT_REQUIRE_ASYNCAPI") == "1";

    /// <summary>A payload and the JSON pointer (into the document) of the schema it must match.</summary>
    public sealed record Sample(string Schema, string Json);

    public static async Task<(int ExitCode, string Output)> ValidateAsync(string documentPath, IEnumerable<Sample>? samples = null)
    {
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.Combine(Root, "tests", "asyncapi") };
        start.ArgumentList.Add("validate.mjs");
        start.ArgumentList.Add(documentPath);
        string? samplesPath = null;
        if (samples is not null)
        {
            samplesPath = Path.Combine(Path.GetTempPath(), $"typedmqtt-samples-{Guid.NewGuid():N}.json");
            await File.WriteAllTextAsync(samplesPath, JsonSerializer.Serialize(samples.Select(s => new Dictionary<string, string> { ["schema"] = s.Schema, ["json"] = s.Json })));
            start.ArgumentList.Add(samplesPath);
        }

        try
        {
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await output + await error);
        }
        finally
        {
            if (samplesPath is not null)
            {
                File.Delete(samplesPath);
            }
        }
    }

    /// <summary>Validates a document held in memory (through a temporary file).</summary>
    public static async Task<(int ExitCode, string Output)> ValidateTextAsync(string document, IEnumerable<Sample>? samples = null)
    {
        var path = Path.Combine(Path.GetTempPath(), $"typedmqtt-asyncapi-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, document);
        try
        {
            return await ValidateAsync(path, samples);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string FindRoot()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "TypedMqtt.sln")))
        {
            root = root.Parent;
        }

        return root?.FullName ?? throw new InvalidOperationException("TypedMqtt.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A fact that needs the AsyncAPI validator: skipped with an install hint when it is missing, unless TYPEDMQTT_REQUIRE_ASYNCAPI=1.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class AsyncApiFactAttribute : FactAttribute
{
    public AsyncApiFactAttribute()
    {
        if (!AsyncApiValidator.IsInstalled && !AsyncApiValidator.IsRequired)
        {
            Skip = AsyncApiValidator.InstallHint;
        }
    }
}
