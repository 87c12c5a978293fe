using System.Reflection.PortableExecutable;
using Pelint.Analysis.HotPatch;
using Pelint.Pe;
using Pelint.Pe.Headers;

namespace Pelint.Rules;

/// <summary>
/// PE2003: no x86 function of an image built hot-patchable (or required to be) jumps back to its
/// own first instruction, which the patch overwrites; one result per function that does.
/// </summary>
[Rule("PE2003")]
public sealed partial class HotpatchEntryBranch : IRule
{
    public Applicability GetApplicability(PeImage image) =>
        image.Machine == Machine.I386
            ? HotPatchReport.Applicability(image)
            : Applicability.NotApplicable($"machine is {MachineNames.Of(image.Machine)}: branches to a function's first instruction are checked for x86, where functions are found from exports and the entry point");

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var compliance = HotPatchCompliance.Of(context.Analysis);
        if (!HotPatchReport.JudgesEachEntry(context, compliance))
        {
            yield break;
        }

        var why = HotPatchReport.Why(context, compliance);
        var branches = EntryBranches.Of(context.Analysis);
        if (!branches.IsComplete)
        {
            var incomplete = Messages.Incomplete(FindingLocation.Image, "incomplete", context.FileName, EntryBranches.MaxImageInstructions,
                branches.CheckedEntries, branches.Entries);
            yield return incomplete with { Level = Level.Note };
        }

        foreach (var f in branches.Functions)
        {
            if (context.IsPastCap)
            {
                yield return Finding.PastCap;
                continue;
            }

            var entry = f.Entry;
            var where = HotPatchReport.Where(context, entry, "branch to the function's first instruction") with
            {
                FileOffset = context.Image.FileOffsetOf(f.FirstBranch),
                Rva = f.FirstBranch,
            };
            var finding = Messages.BranchToEntry(where, HotPatchReport.KeyOf(context, entry),
                context.FileName, HotPatchReport.Describe(context, entry), f.FirstBranch, f.Count, why);
            yield return HotPatchReport.Leveled(context, finding);
        }
    }
}
