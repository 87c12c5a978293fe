using Pelint.Analysis.Arm64;

namespace Pelint.Rules;

/// <summary>
/// The shape PE4005 and PE4006 share: one result per prolog or epilog whose instructions stray
/// from their codes; a warning (message "q-registers") when, in ARM64EC code, only whole q
/// registers stand where the codes describe d registers, because a walk still finds the caller.
/// </summary>
internal static class Arm64FrameRule
{
    /// <summary>One of the rule's messages ("mismatch", "q-registers"): location, fingerprint key, file, function, offset, instruction, code, what the code describes.</summary>
    public delegate Finding Message(FindingLocation location, string fingerprintKey, MessageArgument file, MessageArgument function, Hex offset,
        MessageArgument instruction, MessageArgument code, MessageArgument expected);

    public static IEnumerable<Finding> Analyze(RuleContext context, bool epilogs, Message message, Message qRegisters)
    {
        var image = context.Image;
        var check = Arm64FrameCheck.Of(context.Analysis);
        var properties = new Dictionary<string, object>
        {
            [epilogs ? "epilogsChecked" : "prologsChecked"] = epilogs ? check.EpilogsChecked : check.PrologsChecked,
            ["entriesNotChecked"] = check.NotChecked,
        };

        // Errors first, so the ones a walk gets wrong are among those kept under max-results.
        var mismatches = epilogs ? check.EpilogMismatches : check.PrologMismatches;
        foreach (var m in mismatches.Where(m => !m.WholeQRegisters).Concat(mismatches.Where(m => m.WholeQRegisters)))
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (context.IsPastCap)
            {
                yield return m.WholeQRegisters ? Finding.PastCapAt(Level.Warning) : Finding.PastCap;
                continue;
            }

            var finding = (m.WholeQRegisters ? qRegisters : message)(Arm64Facts.CodeLocation(image, m.Entry, m.Rva, epilogs ? "epilog instruction" : "prolog instruction"),
                $"{Arm64Facts.Key(context, m.Entry)}:{(epilogs ? "epilog" : "prolog")}:{(m.WholeQRegisters ? "q-registers" : m.CodeName)}",
                context.FileName, Arm64Facts.Describe(image, m.Entry.BeginAddress), m.Rva - m.Entry.BeginAddress, m.Instruction, m.CodeName, m.Expected);
            yield return finding with { Properties = properties, Level = m.WholeQRegisters ? Level.Warning : null };
        }

        // Past the analysis's MaxKept only counted; far past this rule's cap, so counted here too.
        for (var i = check.MismatchesNotKept(epilogs, wholeQRegisters: false); i > 0; i--)
        {
            yield return Finding.PastCap;
        }

        for (var i = check.MismatchesNotKept(epilogs, wholeQRegisters: true); i > 0; i--)
        {
            yield return Finding.PastCapAt(Level.Warning);
        }
    }
}
