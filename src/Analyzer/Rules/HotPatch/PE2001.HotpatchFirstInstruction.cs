using System.Reflection.PortableExecutable;
using Pelint.Analysis.HotPatch;
using Pelint.Pe;
using Pelint.Pe.Code;

namespace Pelint.Rules;

/// <summary>PE2001: every function starts with an instruction of at least 2 bytes (one result per image).</summary>
[Rule("PE2001")]
public sealed partial class HotpatchFirstInstruction : IRule
{
    public Applicability GetApplicability(PeImage image) => HotPatchReport.Applicability(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var entries = HotPatchEntries.Of(context.Analysis);
        var offenders = new OffenderList(context.Descriptor.MaxRelatedLocations);
        var movEdiEdi = 0;
        foreach (var entry in entries)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (entry.FirstInstructionLength == 0)
            {
                offenders.Add(entry, "first instruction cannot be decoded");
            }
            else if (entry.FirstInstructionLength < 2)
            {
                offenders.Add(entry, "1-byte first instruction");
            }

            if (entry.StartsWithMovEdiEdi)
            {
                movEdiEdi++;
            }
        }

        if (offenders.Count == 0)
        {
            yield break;
        }

        var s = HotPatchReport.Summarize(context, entries.Count, offenders);
        if (image.Machine != Machine.I386)
        {
            yield return s.Complete(Messages.ShortFirstInstruction(s.Where, "image", s.File, s.NonCompliant, s.Checked, s.Share, s.CapNote));
            yield break;
        }

        var finding = s.Complete(Messages.ShortFirstInstructionX86(s.Where, "image", s.File, s.NonCompliant, s.Checked, s.Share, s.CapNote, movEdiEdi));
        yield return finding with { Properties = new Dictionary<string, object>(finding.Properties) { ["functionsWithMovEdiEdi"] = movEdiEdi } };
    }
}
