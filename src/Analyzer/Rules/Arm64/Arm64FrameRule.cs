using Pelint.Analysis.Arm64;

namespace Pelint.Rules;

/// <summary>The shape PE4005 and PE4006 share: one result per prolog or epilog whose instructions stray from their codes.</summary>
internal static class Arm64FrameRule
{
    public static IEnumerable<Finding> Analyze(RuleContext context, bool epilogs)
    {
        var image = context.Image;
        var check = Arm64FrameCheck.Of(context.Analysis);
        var findings = new List<Finding>();
        foreach (var m in epilogs ? check.EpilogMismatches : check.PrologMismatches)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var offset = m.Rva - m.Entry.BeginAddress;
            findings.Add(context.Report("mismatch", Arm64Facts.CodeLocation(image, m.Entry, m.Rva, epilogs ? "epilog instruction" : "prolog instruction"),
                $"{Arm64Facts.Key(context, m.Entry)}:{(epilogs ? "epilog" : "prolog")}:{m.CodeName}",
                context.FileName, Arm64Facts.Describe(image, m.Entry.BeginAddress), Arm64Facts.Hex(offset), m.Instruction, m.CodeName, m.Expected));
        }

        var capped = Arm64Facts.Capped(context, findings).ToList();
        var properties = new Dictionary<string, object>
        {
            [epilogs ? "epilogsChecked" : "prologsChecked"] = epilogs ? check.EpilogsChecked : check.PrologsChecked,
            ["entriesNotChecked"] = check.NotChecked,
        };
        return capped.Select(f => f with { Properties = properties });
    }
}
