using System.Globalization;
using Pelint.Analysis;
using Pelint.Pe;
using Pelint.Pe.Headers;
using Pelint.Rules;

namespace Pelint.Engine;

/// <summary>
/// Runs rules over an image. It knows nothing of any rule's internals: it asks each rule whether
/// it applies, collects its findings, applies the configured level, and turns a rule's failure
/// into a notification so the other rules and files still report.
/// </summary>
public sealed class RuleEngine
{
    private readonly List<(IRule Rule, RuleDescriptor Descriptor)> _rules;

    public RuleEngine(RuleCatalog catalog, IEnumerable<IRule> rules)
    {
        Catalog = catalog;
        _rules = [];
        foreach (var rule in rules.OrderBy(r => r.Id, StringComparer.Ordinal))
        {
            var descriptor = catalog.Find(rule.Id) ?? throw new InvalidOperationException($"rule {rule.Id} has no page rules/{rule.Id}.md");
            _rules.Add((rule, descriptor));
        }
    }

    public RuleCatalog Catalog { get; }

    public IEnumerable<IRule> Rules => _rules.Select(r => r.Rule);

    /// <summary>The engine with every registered rule and the embedded catalogue.</summary>
    public static RuleEngine CreateDefault() => new(RuleCatalog.Embedded, RuleRegistry.CreateAll());

    /// <summary>Every rule over one image with default settings (one thread, no budget).</summary>
    public FileReport Analyze(PeImage image, ISeverityPolicy policy) => Analyze(new AnalysisContext(image), policy);

    public FileReport Analyze(AnalysisContext analysis, ISeverityPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        var image = analysis.Image;
        var cancellation = analysis.Cancellation;
        var results = new List<Result>();
        var notifications = new List<ToolNotification>();
        var skipped = new List<RuleSkip>();
        var requirements = policy.RequirementsFor(image.Path);
        foreach (var (rule, descriptor) in _rules)
        {
            if (analysis.IsStopped)
            {
                break;
            }

            if (policy.LevelFor(descriptor, image.Path) is not { } level)
            {
                skipped.Add(new RuleSkip(rule.Id, "turned off by configuration"));
                continue;
            }

            try
            {
                var applicability = rule.GetApplicability(image);
                if (!applicability.IsApplicable)
                {
                    skipped.Add(new RuleSkip(rule.Id, applicability.Reason ?? "not applicable"));
                    continue;
                }

                var context = new RuleContext(analysis, descriptor) { Requirements = requirements };
                var configured = policy.IsLevelConfigured(descriptor, image.Path);
                foreach (var finding in rule.Analyze(context))
                {
                    Collect(rule, context, finding, finding.Level is { } own && !configured ? own : level, results);
                }

                if (context.Dropped > 0)
                {
                    results.Add(new Result(CappedSummary(context), context.DroppedLevel, descriptor, image.Path));
                }
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // A rule bug must not cost the user the other rules' results.
                notifications.Add(new ToolNotification(ToolNotification.RuleFailed, Level.Error,
                    $"{rule.Id} failed on {image.Path}: {e.GetType().Name}: {e.Message}", image.Path, rule.Id));
            }
        }

        // What the analyses noted on the way (a PDB found but not used) is said once per file.
        foreach (var note in analysis.Notes.Distinct())
        {
            notifications.Add(new ToolNotification(ToolNotification.AnalysisNote, Level.Note, $"{image.Path}: {note.Message}", image.Path));
        }

        return new FileReport(image.Path, FileStatus.Analyzed, results, notifications, skipped)
        {
            Machine = MachineNames.Of(image.Machine),
            FileLength = image.FileLength,
        };
    }

    // Keeps a rule's first max-results findings and counts the rest while the rule runs, so a
    // broken image with millions of bad entries costs a counter, not a list of findings.
    private static void Collect(IRule rule, RuleContext context, Finding finding, Level level, List<Result> results)
    {
        if (context.IsPastCap)
        {
            // The summary stands for the results it counts, at the most severe of their levels.
            context.Dropped++;
            context.DroppedLevel = (Level)Math.Max((int)context.DroppedLevel, (int)level);
            return;
        }

        if (ReferenceEquals(finding, Finding.PastCap) || finding.RuleId.Length == 0)
        {
            throw new InvalidOperationException($"{rule.Id} yielded Finding.PastCap with {context.Kept} of {context.Descriptor.MaxResults} results kept");
        }

        if (finding.RuleId != rule.Id)
        {
            throw new InvalidOperationException($"{rule.Id} yielded a finding of {finding.RuleId}");
        }

        results.Add(new Result(finding, level, context.Descriptor, context.Image.Path));
        context.Kept++;
    }

    /// <summary>The one result that ends a capped rule's results on an image: how many more there were.</summary>
    private static Finding CappedSummary(RuleContext context) =>
        new(context.Descriptor.Id, RuleDescriptor.CappedMessageId,
            [context.FileName, context.Dropped.ToString(CultureInfo.InvariantCulture), context.Descriptor.MaxResults.ToString(CultureInfo.InvariantCulture)],
            FindingLocation.Image, RuleDescriptor.CappedMessageId);
}
