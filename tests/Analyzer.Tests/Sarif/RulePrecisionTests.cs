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

    [Fact]
    public void Hot_patch_rules_are_not_claimed_precise()
    {
        // On the labelled corpus nearly every hot-patch warning was on an image never built hot-patchable.
        Assert.Equal("low", RuleCatalog.Embedded.Find("PE2001")!.Precision);
        Assert.Equal("low", RuleCatalog.Embedded.Find("PE2002")!.Precision);
    }

    [GeneratedRegex(@"^precision: (very-high|high|medium|low)$", RegexOptions.Multiline)]
    private static partial Regex PrecisionLine();
}
