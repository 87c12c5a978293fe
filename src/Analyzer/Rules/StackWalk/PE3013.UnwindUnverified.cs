using System.Globalization;
using Pelint.Analysis.StackWalk;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE3013: what the stack-walk verifier could not follow or check, one result per image.</summary>
[Rule("PE3013")]
public sealed partial class UnwindUnverified : IRule
{
    public Applicability GetApplicability(PeImage image) => StackWalkFindings.Applicability(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var analysis = StackWalkAnalysis.Of(context.Analysis);
        var unbalanced = analysis.Verdicts.Where(v => v.UnbalancedJoins.Count > 0).ToList();
        var unfollowed = analysis.Verdicts.Where(v => v.Unfollowed.Count > 0).ToList();
        var notAnalyzed = analysis.Verdicts.Where(v => v.NotAnalyzed is not null).ToList();
        var reasons = new List<string>();
        Add(reasons, unbalanced.Count, "with paths that meet with different stack pointers");
        Add(reasons, unfollowed.Count, "with code that could not be followed (an indirect jump without a recognised table, bytes that do not decode)");
        Add(reasons, notAnalyzed.Count, "too large to follow");
        Add(reasons, analysis.SkippedVersion3, "with unwind info version 3 (APX), which is not analyzed");
        Add(reasons, analysis.SkippedNotModelled, "with a machine frame (PUSH_MACHFRAME), which is not analyzed");
        if (reasons.Count == 0)
        {
            yield break;
        }

        var related = new List<FindingLocation>();
        foreach (var verdict in unbalanced.Concat(unfollowed).Concat(notAnalyzed).DistinctBy(v => v.Primary.BeginAddress).OrderBy(v => v.Primary.BeginAddress).Take(context.Descriptor.MaxRelatedLocations))
        {
            var name = StackWalkFindings.FunctionName(context, verdict);
            var (rva, why) = verdict.UnbalancedJoins.Count > 0 ? (verdict.UnbalancedJoins[0], "paths meet here with different stack pointers")
                : verdict.Unfollowed.Count > 0 ? verdict.Unfollowed[0]
                : (verdict.Primary.BeginAddress, verdict.NotAnalyzed!);
            related.Add(new FindingLocation(image.FileOffsetOf(rva), 1, rva, name, verdict.Primary.BeginAddress, $"{name} at 0x{rva:X}: {why}"));
        }

        var total = analysis.FunctionsVerified + analysis.SkippedVersion3 + analysis.SkippedNotModelled;
        var finding = Messages.Summary(FindingLocation.Image, "image", context.FileName, string.Join("; ", reasons), total, related.Count);
        yield return finding with
        {
            RelatedLocations = related,
            Properties = new Dictionary<string, object>
            {
                ["functionsVerified"] = analysis.FunctionsVerified,
                ["instructionsChecked"] = analysis.InstructionsChecked,
                ["functionsUnbalanced"] = unbalanced.Count,
                ["functionsNotFollowed"] = unfollowed.Count,
                ["functionsVersion3"] = analysis.SkippedVersion3,
            },
        };
    }

    private static void Add(List<string> reasons, int count, string what)
    {
        if (count > 0)
        {
            reasons.Add($"{count.ToString(CultureInfo.InvariantCulture)} function{(count == 1 ? string.Empty : "s")} {what}");
        }
    }
}
