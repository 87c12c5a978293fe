using Pelint.Analysis.HotPatch;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>
/// PE2001: every function of an image built hot-patchable (or required to be) starts with an
/// instruction of at least 2 bytes; one result per function that does not. An image without
/// intent gets no result here: PE2002 says once that it was not built hot-patchable.
/// </summary>
[Rule("PE2001")]
public sealed partial class HotpatchFirstInstruction : IRule
{
    public Applicability GetApplicability(PeImage image) => HotPatchReport.Applicability(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var compliance = HotPatchCompliance.Of(context.Analysis);
        if (!HotPatchReport.JudgesEachEntry(context, compliance))
        {
            yield break;
        }

        var why = HotPatchReport.Why(context, compliance);
        foreach (var e in compliance.Entries)
        {
            if (e.FirstInstruction == FirstInstructionProblem.None)
            {
                continue;
            }

            if (context.IsPastCap)
            {
                yield return Finding.PastCap;
                continue;
            }

            var entry = e.Entry;
            var first = e.FirstInstruction == FirstInstructionProblem.OneByte && FirstByte(context.Image, entry.Rva) is { } b
                ? $"starts with a 1-byte instruction ({b:X2})"
                : "starts with an instruction that cannot be decoded";
            var finding = Messages.ShortFirstInstruction(HotPatchReport.Where(context, entry, "function entry"), HotPatchReport.KeyOf(context, entry),
                context.FileName, HotPatchReport.Describe(context, entry), first, why);
            yield return HotPatchReport.Leveled(context, finding);
        }
    }

    private static byte? FirstByte(PeImage image, uint rva)
    {
        using var reader = image.OpenReader();
        return reader.TryGetSpan(rva, 1, out var bytes) ? bytes[0] : null;
    }
}
