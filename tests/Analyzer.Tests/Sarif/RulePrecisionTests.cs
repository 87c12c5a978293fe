using System.Text.RegularExpressions;
using Pelint.Rules;
using Pelint.Sarif;
using Pelint.Testing;

namespace Pelint.Tests.Sarif;

/// <summary>The SARIF precision of every rule is the one its page states, not one value for all rules.</summary>
public sealed partial class RulePrecisionTests
{
    public static TheoryData<string> RuleIds => [.. RuleRegistry.CreateAll().Select(r => r.Id)];

    [Theory]
    [MemberData(nameof(RuleIds))]
    public void The_sarif_descriptor_carries_the_precision_written_on_the_rule_page(string id)
    {
        var page = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "rules", id + ".md"));
        var stated = PrecisionLine().Match(page);
        Assert.True(stated.Success, $"rules/{id}.md states no precision");

        var descriptor = SarifBuilder.Descriptor(RuleCatalog.Embedded.Find(id)!);

        Assert.Equal(stated.Groups[1].Value, (string?)descriptor.Properties!["precision"]);
    }

    [GeneratedRegex(@"^precision: (very-high|high|medium|low)$", RegexOptions.Multiline)]
    private static partial Regex PrecisionLine();
}
