using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using TypedMqtt.Generator.Diagnostics;

namespace TypedMqtt.Generator.Tests;

/// <summary>docs/diagnostics.md explains every diagnostic, with a wrong and a fixed example, at the help link's anchor.</summary>
public sealed partial class DiagnosticDocsTests
{
    public static TheoryData<string> Ids => new(DiagnosticDescriptors.AllDescriptors.Select(d => d.Id));

    [Theory]
    [MemberData(nameof(Ids))]
    public void The_help_link_is_absolute_and_its_section_has_a_wrong_and_a_fixed_example(string id)
    {
        var descriptor = DiagnosticDescriptors.AllDescriptors.Single(d => d.Id == id);
        Assert.StartsWith("https://", descriptor.HelpLinkUri, StringComparison.Ordinal);
        Assert.EndsWith("/docs/diagnostics.md#" + id.ToLowerInvariant(), descriptor.HelpLinkUri, StringComparison.Ordinal);

        var section = Section(id);
        Assert.Contains("| [" + id + "](#" + id.ToLowerInvariant() + ") |", Docs(), StringComparison.Ordinal);
        var code = string.Join("\n", CodeBlock().Matches(section).Select(m => m.Groups[1].Value));
        Assert.True(code.Contains("// " + id, StringComparison.Ordinal), $"{id}: no example line marked '// {id}'");
        Assert.True(code.Contains("// fine", StringComparison.Ordinal), $"{id}: no fixed example marked '// fine'");
    }

    [Fact]
    public void Help_links_point_into_the_repository_named_in_Directory_Build_props()
    {
        var props = File.ReadAllText(Path.Combine(Root(), "Directory.Build.props"));
        var repository = Regex.Match(props, "<RepositoryUrl>(.*?)</RepositoryUrl>").Groups[1].Value;
        Assert.StartsWith("https://", repository, StringComparison.Ordinal);
        Assert.Equal(DiagnosticDescriptors.HelpLinkBase, repository + "/blob/main/docs/diagnostics.md#");
    }

    private static string Section(string id)
    {
        var docs = Docs();
        var start = docs.IndexOf("\n## " + id + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/diagnostics.md has no '## {id}' section");
        var end = docs.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        return end < 0 ? docs[start..] : docs[start..end];
    }

    private static string Docs() =>
        File.ReadAllText(Path.Combine(Root(), "docs", "diagnostics.md")).Replace("\r\n", "\n", StringComparison.Ordinal);

    private static string Root([CallerFilePath] string here = "") => Path.Combine(Path.GetDirectoryName(here)!, "..", "..");

    [GeneratedRegex("```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();
}
