using System.Globalization;
using Microsoft.CodeAnalysis;
using TypedMqtt.Generator.Model;

namespace TypedMqtt.Generator;

/// <summary>
/// What parsing one contract yields: the model to emit (<see langword="null"/> when an error was reported) and, beside it,
/// the diagnostics with their real source locations. A location rebuilt from a file path (an ExternalFileLocation) is
/// never checked against the file's <c>#pragma warning disable</c>, so diagnostics are not trimmed into the model; the
/// pipeline splits the two so the emitted source still depends on the value-equal model alone.
/// </summary>
internal sealed record ParseResult(ContractModel? Model, EquatableArray<ReportedDiagnostic> Diagnostics);

/// <summary>
/// A diagnostic compared by id, location and message. <see cref="Diagnostic"/>'s own equality compares message arguments
/// by reference, so an unchanged contract re-parsed after an edit elsewhere would look modified.
/// </summary>
internal readonly struct ReportedDiagnostic(Diagnostic diagnostic) : IEquatable<ReportedDiagnostic>
{
    public Diagnostic Diagnostic { get; } = diagnostic;

    public bool Equals(ReportedDiagnostic other) =>
        Diagnostic.Id == other.Diagnostic.Id &&
        Diagnostic.Location.Equals(other.Diagnostic.Location) &&
        Diagnostic.GetMessage(CultureInfo.InvariantCulture) == other.Diagnostic.GetMessage(CultureInfo.InvariantCulture);

    public override bool Equals(object? obj) => obj is ReportedDiagnostic other && Equals(other);

    public override int GetHashCode() => (Diagnostic.Id.GetHashCode() * 31) + Diagnostic.Location.SourceSpan.GetHashCode();
}
