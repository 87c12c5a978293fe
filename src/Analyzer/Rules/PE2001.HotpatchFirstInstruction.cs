using System.Reflection.PortableExecutable;
using Pelint.Engine;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE2001: every function starts with an instruction of at least 2 bytes (one result per image).</summary>
public sealed class HotpatchFirstInstruction : IRule
{
    public string Id => "PE2001";

    public Applicability GetApplicability(PeImage image) => HotPatchEntries.Applicability(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var entries = HotPatchEntries.Of(image);
        var offenders = new List<(PatchableEntry, string)>();
        var movEdiEdi = 0;
        foreach (var entry in entries)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var length = HotPatchEntries.FirstInstructionLength(image, entry.Rva);
            if (length is null)
            {
                offenders.Add((entry, "first instruction cannot be decoded"));
            }
            else if (length < 2)
            {
                offenders.Add((entry, "1-byte first instruction"));
            }

            if (image.TryGetSpan(entry.Rva, 2, out var first) && first[0] == 0x8B && first[1] == 0xFF)
            {
                movEdiEdi++;
            }
        }

        if (offenders.Count == 0)
        {
            yield break;
        }

        var convention = image.Machine == Machine.I386
            ? $" {movEdiEdi} of {entries.Count} start with the conventional `mov edi, edi` (8B FF)."
            : string.Empty;
        var finding = HotPatchReport.Build(context, "short-first-instruction", entries.Count, offenders, convention);
        yield return image.Machine == Machine.I386
            ? finding with { Properties = new Dictionary<string, object>(finding.Properties) { ["functionsWithMovEdiEdi"] = movEdiEdi } }
            : finding;
    }
}
