using Pelint.Analysis.HotPatch;
using Pelint.Pe;
using Pelint.Pe.Exceptions;

namespace Pelint.Rules;

/// <summary>PE2002: at least 6 (x64) / 5 (x86) bytes of int3/nop that no other function owns precede every entry.</summary>
[Rule("PE2002")]
public sealed partial class HotpatchPadding : IRule
{
    public Applicability GetApplicability(PeImage image) => HotPatchReport.Applicability(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var needed = HotPatchEntries.PaddingNeeded(image);
        var entries = HotPatchEntries.Of(context.Analysis);
        var directory = image.Machine == System.Reflection.PortableExecutable.Machine.Amd64 ? image.ExceptionDirectory : null;
        var offenders = new OffenderList(context.Descriptor.MaxRelatedLocations);
        foreach (var entry in entries)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (Problem(image, directory, entry, needed, offenders.Listing) is { } detail)
            {
                offenders.Add(entry, detail);
            }
        }

        if (offenders.Count > 0)
        {
            var s = HotPatchReport.Summarize(context, entries.Count, offenders);
            yield return s.Complete(Messages.MissingPadding(s.Where, "image", s.File, s.NonCompliant, s.Checked, s.Share, s.CapNote, needed));
        }
    }

    // Null when the padding is there; else what is wrong, spelled out only when `describe`.
    private static string? Problem(PeImage image, ExceptionDirectory? directory, PatchableEntry patchable, int needed, bool describe)
    {
        var entry = patchable.Rva;
        var section = image.Map.FindSection(entry);
        if (entry < needed || section is null || entry - (uint)needed < section.VirtualAddress)
        {
            return "starts at the beginning of its section";
        }

        var start = entry - (uint)needed;
        if (!patchable.PaddingInFile)
        {
            return "padding bytes are not in the file";
        }

        Span<byte> bytes = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes, patchable.Padding);
        var padding = bytes[..needed];

        foreach (var b in padding)
        {
            if (b is not (0xCC or 0x90))
            {
                return describe ? $"preceded by {Convert.ToHexString(padding)}, not int3/nop" : string.Empty;
            }
        }

        // Padding that lies inside another function's range belongs to that function.
        for (var rva = start; rva < entry; rva++)
        {
            if (directory?.FindContaining(rva) is { } owner)
            {
                return describe ? $"padding belongs to the function at 0x{owner.BeginAddress:X}" : string.Empty;
            }
        }

        return null;
    }
}
