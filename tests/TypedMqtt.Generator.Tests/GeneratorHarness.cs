using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace TypedMqtt.Generator.Tests;

/// <summary>Builds test compilations and runs <see cref="TypedMqttGenerator"/> over them with a plain driver.</summary>
internal static class GeneratorHarness
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest, DocumentationMode.Diagnose);

    /// <summary>
    /// Usings, payload records, an enum, a custom codec and a hand-written JSON context shared by the test contracts.
    /// The context is hand-written because the STJ generator may not load in Roslyn 4.14; TypedMqtt only reads its
    /// [JsonSerializable] attributes.
    /// </summary>
    public const string Prelude = """
        global using System;
        global using System.Buffers;
        global using System.Threading;
        global using System.Threading.Tasks;
        global using System.Text.Json;
        global using System.Text.Json.Serialization;
        global using System.Text.Json.Serialization.Metadata;
        global using TypedMqtt;

        namespace Shapes
        {
            /// <summary>A JSON payload.</summary>
            /// <param name="Value">The value.</param>
            public sealed record Reading(double Value);

            /// <summary>A JSON payload that is not in <see cref="ShapesJson"/>.</summary>
            /// <param name="Text">The text.</param>
            public sealed record Unlisted(string Text);

            /// <summary>A device status.</summary>
            /// <param name="Online">Whether the device is online.</param>
            public sealed record Status(bool Online);

            /// <summary>An enum topic level.</summary>
            public enum DeviceKind
            {
                /// <summary>A sensor.</summary>
                Sensor,

                /// <summary>An actuator.</summary>
                Actuator,
            }

            /// <summary>A custom payload.</summary>
            /// <param name="X">X.</param>
            /// <param name="Y">Y.</param>
            public readonly record struct Point(int X, int Y);

            /// <summary>A custom codec: two little-endian 32-bit integers.</summary>
            public sealed class PointCodec : IMqttPayloadCodec<Point>
            {
                /// <inheritdoc/>
                public string? ContentType => "application/x-point";

                /// <inheritdoc/>
                public MqttPayloadFormat PayloadFormat => MqttPayloadFormat.Unspecified;

                /// <inheritdoc/>
                public void Encode(Point value, IBufferWriter<byte> writer)
                {
                    var span = writer.GetSpan(8);
                    System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(span, value.X);
                    System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(span.Slice(4), value.Y);
                    writer.Advance(8);
                }

                /// <inheritdoc/>
                public Point Decode(ReadOnlySequence<byte> payload)
                {
                    Span<byte> bytes = stackalloc byte[8];
                    payload.CopyTo(bytes);
                    return new Point(
                        System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes),
                        System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes.Slice(4)));
                }
            }

            /// <summary>A hand-written stand-in for an STJ-generated context.</summary>
            [JsonSerializable(typeof(Reading))]
            [JsonSerializable(typeof(Status))]
            internal sealed class ShapesJson : JsonSerializerContext
            {
                public ShapesJson()
                    : base(null)
                {
                }

                public static ShapesJson Default { get; } = new();

                protected override JsonSerializerOptions? GeneratedSerializerOptions => null;

                public override JsonTypeInfo? GetTypeInfo(Type type) => null;
            }
        }
        """;

    public static CSharpCompilation Compilation(params string[] sources) =>
        CSharpCompilation.Create(
            "Contracts",
            sources.Prepend(Prelude).Select((source, i) => CSharpSyntaxTree.ParseText(source, ParseOptions, path: $"/src/File{i}.cs")),
            TestReferences.All,
            new CSharpCompilationOptions(
                OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable,
                generalDiagnosticOption: ReportDiagnostic.Error,
                warningLevel: 9999,
                deterministic: true));

    /// <summary>A driver; the AsyncAPI document is left out (TypedMqttAsyncApi=false) unless <paramref name="asyncApi"/>, so each test sees the sources it is about.</summary>
    public static GeneratorDriver Driver(bool trackSteps = false, bool asyncApi = false) =>
        CSharpGeneratorDriver.Create(
            [new TypedMqttGenerator().AsSourceGenerator()],
            parseOptions: ParseOptions,
            optionsProvider: new BuildProperties(asyncApi ? [] : new() { ["build_property.TypedMqttAsyncApi"] = "false" }),
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    /// <summary>Runs the generator once; returns the output compilation, the generator's diagnostics and its sources by hint name.</summary>
    public static (Compilation Output, ImmutableArray<Diagnostic> Diagnostics, ImmutableArray<GeneratedSourceResult> Sources) Run(Compilation input, bool asyncApi = false)
    {
        var driver = Driver(asyncApi: asyncApi).RunGeneratorsAndUpdateCompilation(input, out var output, out var diagnostics);
        var sources = driver.GetRunResult().Results.Single().GeneratedSources
            .OrderBy(s => s.HintName, StringComparer.Ordinal)
            .ToImmutableArray();
        return (output, diagnostics, sources);
    }

    /// <summary>MSBuild properties as the compiler passes them to generators (build_property.*).</summary>
    private sealed class BuildProperties(Dictionary<string, string> values) : Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptionsProvider
    {
        public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GlobalOptions { get; } = new Options(values);

        public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GetOptions(SyntaxTree tree) => new Options([]);

        public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GetOptions(AdditionalText textFile) => new Options([]);

        private sealed class Options(Dictionary<string, string> values) : Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions
        {
            public override bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value) => values.TryGetValue(key, out value);
        }
    }
}
