using System.Reflection.PortableExecutable;
using Pelint.Engine;
using Pelint.Pe;
using Pelint.Rules;
using Pelint.Testing;

namespace Pelint.Tests.Engine;

/// <summary>
/// max-results: the engine keeps the first N findings a rule yields on an image, counts the rest
/// while the rule runs, and ends them with one summary result of the rule.
/// </summary>
public sealed class ResultCapTests
{
    private const int Cap = 7;

    // PE1003's page with a small cap: the flood rule below makes findings with PE1003's messages.
    private static readonly RuleDescriptor Page = RuleCatalog.Embedded.Find("PE1003")! with { MaxResults = Cap };

    [Fact]
    public void Findings_past_max_results_end_in_one_summary_that_counts_them()
    {
        var report = Analyze(new FloodRule(500));

        Assert.Equal(Cap + 1, report.Results.Count);
        Assert.Equal(Enumerable.Range(0, Cap).Select(i => $"flood.dll: problem {i}."), report.Results.Take(Cap).Select(r => r.Message));
        var summary = report.Results[^1];
        Assert.Equal("PE1003", summary.Finding.RuleId);
        Assert.Equal("capped", summary.Finding.MessageId);
        Assert.Equal("capped", summary.Finding.FingerprintKey);
        Assert.Equal(Level.Error, summary.Level);
        Assert.Equal("flood.dll: 493 more results of this rule were not reported (max-results 7 per image).", summary.Message);
    }

    [Fact]
    public void The_summary_takes_the_level_of_the_findings_it_counts()
    {
        var report = Analyze(new FloodRule(500, levelOf: _ => Level.Warning));

        Assert.All(report.Results, r => Assert.Equal(Level.Warning, r.Level));
        Assert.Equal("capped", report.Results[^1].Finding.MessageId);
    }

    [Fact]
    public void One_error_past_the_cap_among_warnings_makes_the_summary_an_error()
    {
        var report = Analyze(new FloodRule(500, levelOf: i => i == 300 ? null : Level.Warning));

        Assert.All(report.Results.Take(Cap), r => Assert.Equal(Level.Warning, r.Level));
        Assert.Equal(Level.Error, report.Results[^1].Level); // finding 300 has the rule's level, error
    }

    [Fact]
    public void Rule_that_asks_its_context_describes_only_the_findings_that_are_kept()
    {
        var rule = new FloodRule(500);

        var report = Analyze(rule);

        Assert.Equal(Cap, rule.Described);
        Assert.Equal(500, rule.Yielded);
        Assert.Contains("493 more", report.Results[^1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rule_that_describes_every_finding_gets_the_same_results()
    {
        var lazy = Analyze(new FloodRule(500));
        var eager = new FloodRule(500, asks: false);

        var report = Analyze(eager);

        Assert.Equal(500, eager.Described);
        Assert.Equal(lazy.Results.Select(r => r.Message), report.Results.Select(r => r.Message));
    }

    [Fact]
    public void Exactly_max_results_findings_have_no_summary()
    {
        var report = Analyze(new FloodRule(Cap));

        Assert.Equal(Cap, report.Results.Count);
        Assert.DoesNotContain(report.Results, r => r.Finding.MessageId == "capped");
    }

    [Fact]
    public void Yielding_PastCap_before_the_cap_is_a_rule_failure_not_a_lost_finding()
    {
        var report = Analyze(new FloodRule(3, pastCapFirst: true));

        Assert.Empty(report.Results);
        var failure = Assert.Single(report.Notifications);
        Assert.Equal(ToolNotification.RuleFailed, failure.Id);
        Assert.Contains("Finding.PastCap", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_rule_has_the_engine_summary_message_and_no_page_defines_its_own()
    {
        foreach (var rule in RuleCatalog.Embedded.Rules)
        {
            Assert.Equal(RuleDescriptor.CappedTemplate, rule.Messages["capped"]);
        }

        var page = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "rules", "PE1003.md"));
        var redefined = page.Replace("messages:\n", "messages:\n  capped: \"{0}: mine.\"\n", StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => RulePage.Parse(redefined, "rules/PE1003.md"));
    }

    [Fact]
    public void Page_without_max_results_keeps_100_per_image()
    {
        var page = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "rules", "PE1001.md"));

        Assert.DoesNotContain("max-results", page, StringComparison.Ordinal);
        Assert.Equal(100, RulePage.Parse(page, "rules/PE1001.md").MaxResults);
        Assert.Equal(50, RulePage.Parse(page.Replace("messages:\n", "max-results: 50\nmessages:\n", StringComparison.Ordinal), "rules/PE1001.md").MaxResults);
    }

    private static FileReport Analyze(IRule rule)
    {
        var builder = new PeBuilder();
        builder.AddCode(0x200);
        var opened = PeImage.Load(builder.Build(), "flood.dll");
        using var image = opened.Image!;
        return new RuleEngine(new RuleCatalog([Page]), [rule]).Analyze(image, DefaultSeverityPolicy.Instance);
    }

    /// <summary>
    /// Yields <c>count</c> findings of PE1003, one at a time; asked to, it yields
    /// <see cref="Finding.PastCap"/> once its context is past the cap instead of describing them
    /// (<see cref="Finding.PastCapAt"/> for a finding that <c>levelOf</c> gives a level of its own).
    /// </summary>
    private sealed class FloodRule(int count, bool asks = true, bool pastCapFirst = false, Func<int, Level?>? levelOf = null) : IRule
    {
        public int Described { get; private set; }

        public int Yielded { get; private set; }

        public string Id => "PE1003";

        public Applicability GetApplicability(PeImage image) => Applicability.Applicable;

        public IEnumerable<Finding> Analyze(RuleContext context)
        {
            for (var i = 0; i < count; i++)
            {
                Yielded++;
                var level = levelOf?.Invoke(i);
                if ((asks && context.IsPastCap) || pastCapFirst)
                {
                    yield return level is { } own ? Finding.PastCapAt(own) : Finding.PastCap;
                    continue;
                }

                Described++;
                yield return RelocationBlocks.Messages.Framing(new FindingLocation(FileOffset: i), $"framing:{i}", context.FileName, $"problem {i}") with { Level = level };
            }
        }
    }
}
