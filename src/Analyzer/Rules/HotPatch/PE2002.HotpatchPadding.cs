using System.Globalization;
using Pelint.Analysis.HotPatch;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>
/// PE2002: at least 6 (x64) / 5 (x86) bytes of int3/nop that no other function owns precede every
/// entry of an image built hot-patchable (or required to be); one result per function that lacks
/// them. An image without intent gets one note saying it was not built hot-patchable.
/// </summary>
[Rule("PE2002")]
public sealed partial class HotpatchPadding : IRule
{
    public Applicability GetApplicability(PeImage image) => HotPatchReport.Applicability(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var compliance = HotPatchCompliance.Of(context.Analysis);
        var needed = HotPatchEntries.PaddingNeeded(image);
        if (!HotPatchReport.JudgesEachEntry(context, compliance))
        {
            if (compliance.Entries.Count > 0)
            {
                yield return NotHotPatchable(context, compliance, needed);
            }

            yield break;
        }

        var why = HotPatchReport.Why(context, compliance);
        foreach (var e in compliance.Entries)
        {
            if (e.Padding == PaddingProblem.None)
            {
                continue;
            }

            if (context.IsPastCap)
            {
                yield return Finding.PastCap;
                continue;
            }

            var entry = e.Entry;
            var finding = Messages.MissingPadding(HotPatchReport.Where(context, entry, "function entry"), HotPatchReport.KeyOf(context, entry),
                context.FileName, HotPatchReport.Describe(context, entry), Problem(image, entry.Rva, e.Padding, needed), why);
            yield return HotPatchReport.Leveled(context, finding);
        }
    }

    private static Finding NotHotPatchable(RuleContext context, HotPatchCompliance compliance, int needed)
    {
        var count = compliance.Entries.Count;
        string Share(int n) => (100.0 * n / count).ToString("0.#", CultureInfo.InvariantCulture);
        var finding = Messages.NotHotPatchable(FindingLocation.Image, "not-hot-patchable",
            context.FileName, Share(compliance.Padded), count.ToString("N0", CultureInfo.InvariantCulture), needed, Share(compliance.LongFirstInstruction));
        return finding with
        {
            Level = Level.Note,
            Properties = new Dictionary<string, object>
            {
                ["functionsChecked"] = count,
                ["functionsPadded"] = compliance.Padded,
                ["functionsWithLongFirstInstruction"] = compliance.LongFirstInstruction,
                ["functionsCompliant"] = compliance.Compliant,
                ["functionsWithMovEdiEdi"] = compliance.MovEdiEdi,
            },
        };
    }

    private static string Problem(PeImage image, uint entry, PaddingProblem problem, int needed) => problem switch
    {
        PaddingProblem.AtSectionStart => "starts at the beginning of its section",
        PaddingProblem.NotInFile => "has its padding bytes outside the file's data",
        PaddingProblem.NotInt3OrNop => $"is preceded by {Convert.ToHexString(HotPatchCompliance.PaddingBytes(image, entry))}, not {needed} bytes of int3/nop",
        _ => HotPatchCompliance.PaddingOwner(image, entry) is { } owner
            ? string.Create(CultureInfo.InvariantCulture, $"has its padding inside the function at 0x{owner.BeginAddress:X}")
            : "has its padding inside another function",
    };
}
