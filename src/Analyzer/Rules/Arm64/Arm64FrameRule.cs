using Pelint.Analysis.Arm64;

namespace Pelint.Rules;

/// <summary>The shape PE4005 and PE4006 share: one result per prolog or epilog whose instructions stray from their codes.</summary>
internal static class Arm64FrameRule
{
    /// <summary>The rule's "mismatch" message: location, fingerprint key, file, function, offset, instruction, code, what the code describes.</summary>
    public delegate Finding Message(FindingLocation location, string fingerprintKey, MessageArgument file, MessageArgument function, Hex offset,
        MessageArgument instruction, MessageArgument code, MessageArgument expected);

    public static IEnumerable<Finding> Analyze(RuleContext context, bool epilogs, Message message)
    {
        var image = context.Image;
        var check = Arm64FrameCheck.Of(context.Analysis);
        var properties = new Dictionary<string, object>
        {
            [epilogs ? "epilogsChecked" : "prologsChecked"] = epilogs ? check.EpilogsChecked : check.PrologsChecked,
            ["entriesNotChecked"] = check.NotChecked,
        };
        foreach (var m in epilogs ? check.EpilogMismatches : check.PrologMismatches)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            yield return context.IsPastCap ? Finding.PastCap
                : message(Arm64Facts.CodeLocation(image, m.Entry, m.Rva, epilogs ? "epilog instruction" : "prolog instruction"),
                    $"{Arm64Facts.Key(context, m.Entry)}:{(epilogs ? "epilog" : "prolog")}:{m.CodeName}",
                    context.FileName, Arm64Facts.Describe(image, m.Entry.BeginAddress), m.Rva - m.Entry.BeginAddress, m.Instruction, m.CodeName, m.Expected)
                with
                { Properties = properties };
        }
    }
}
