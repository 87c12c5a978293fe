using System.Reflection.PortableExecutable;
using Pelint.Analysis.HotPatch;
using Pelint.Pe;
using Pelint.Pe.Code;

namespace Pelint.Rules;

/// <summary>PE2001: every function starts with an instruction of at least 2 bytes (one result per image).</summary>
public sealed class HotpatchFirstInstruction : IRule
{
    public string Id => "PE2001";

    public Applicability GetApplicability(PeImage image) => HotPatchReport.Applicability(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var entries = HotPatchEntries.Of(context.Analysis);
        using var code = image.Code.OpenCursor();
        using var reader = image.OpenReader();
        var offenders = new OffenderList();
        var movEdiEdi = 0;
        foreach (var entry in entries)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (!code.TryDecodeAt(entry.Rva, out var first) || first.IsInvalid)
            {
                offenders.Add(entry, "first instruction cannot be decoded");
            }
            else if (first.Length < 2)
            {
                offenders.Add(entry, "1-byte first instruction");
            }

            if (reader.TryGetSpan(entry.Rva, 2, out var bytes) && bytes[0] == 0x8B && bytes[1] == 0xFF)
            {
                movEdiEdi++;
            }
        }

        if (offenders.Count == 0)
        {
            yield break;
        }

        if (image.Machine != Machine.I386)
        {
            yield return HotPatchReport.Build(context, "short-first-instruction", entries.Count, offenders);
            yield break;
        }

        var finding = HotPatchReport.Build(context, "short-first-instruction-x86", entries.Count, offenders,
            movEdiEdi.ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return finding with { Properties = new Dictionary<string, object>(finding.Properties) { ["functionsWithMovEdiEdi"] = movEdiEdi } };
    }
}
