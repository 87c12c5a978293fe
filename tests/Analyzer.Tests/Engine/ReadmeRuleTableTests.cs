using System.Text.RegularExpressions;
using Pelint.Rules;
using Pelint.Testing;

namespace Pelint.Tests.Engine;

/// <summary>README.md's "What it checks" tables list every rule of rules/ once, as its page names it.</summary>
public sealed partial class ReadmeRuleTableTests
{
    [Fact]
    public void Every_rule_page_has_one_row_with_its_id_name_and_default_level()
    {
        var readme = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "README.md"));
        var start = readme.IndexOf("## What it checks", StringComparison.Ordinal);
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var rows = RuleRow().Matches(readme[start..end])
            .Select(m => (Id: m.Groups["id"].Value, Name: m.Groups["name"].Value, Level: m.Groups["level"].Value))
            .OrderBy(r => r.Id, StringComparer.Ordinal)
            .ToList();

        var pages = Directory.GetFiles(Path.Combine(TestPaths.RepositoryRoot, "rules"), "*.md")
            .Select(p => RulePage.Parse(File.ReadAllText(p), p))
            .Select(d => (d.Id, d.Name, Level: d.DefaultLevel.ToSarif()))
            .OrderBy(r => r.Id, StringComparer.Ordinal)
            .ToList();

        Assert.NotEmpty(pages);
        Assert.Equal(pages, rows);
    }

    [GeneratedRegex(@"^\| (?<id>PE[0-9]{4}) \| (?<name>[a-z0-9-]+) \| (?<level>error|warning|note|none) \|", RegexOptions.Multiline)]
    private static partial Regex RuleRow();
}
