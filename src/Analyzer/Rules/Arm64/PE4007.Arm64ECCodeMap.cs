using Pelint.Pe;
using Pelint.Pe.Chpe;
using Pelint.Pe.Exceptions;
using Pelint.Pe.Headers;

namespace Pelint.Rules;

/// <summary>
/// PE4007: in an ARM64EC or ARM64X image, the CHPE code map and the two function tables agree:
/// every range lies in executable code, ranges do not overlap, ARM64-format entries describe
/// ARM64 or ARM64EC code and x64 entries describe x64 code.
/// </summary>
[Rule("PE4007")]
public sealed partial class Arm64ECCodeMap : IRule
{
    public Applicability GetApplicability(PeImage image) => image.Chpe is null
        ? Applicability.NotApplicable(image.Arm64Exceptions.HasArm64Code
            ? "ARM64 image without CHPE metadata: no code map (not ARM64EC or ARM64X)"
            : $"machine is {MachineNames.Of(image.Machine)} without CHPE metadata: the code map exists only in ARM64EC and ARM64X images")
        : Applicability.Applicable;

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var map = image.Chpe!;
        var name = context.FileName;
        var ranges = map.Ranges;
        var mapLocation = new FindingLocation(image.FileOffsetOf(map.MetadataRva), 12, map.MetadataRva, Description: "CHPE metadata code map");
        for (var k = 0; k < ranges.Count; k++)
        {
            var r = ranges[k];
            // A range may span several code sections (and the gap between them, as in an ARM64EC
            // image whose x64 range runs from .text into .hexpthk), but no data section.
            var first = image.Map.FindSection(r.Start);
            var last = r.End > r.Start ? image.Map.FindSection(r.End - 1) : null;
            var data = image.Sections.FirstOrDefault(s => !s.IsExecutable && s.VirtualAddress < r.End && (ulong)s.VirtualAddress + s.MappedSize > r.Start);
            if (r.Kind == ChpeRangeKind.Unknown || first is not { IsExecutable: true } || last is not { IsExecutable: true } || data is not null)
            {
                yield return Messages.RangeOutsideCode(mapLocation, $"range:{k}:outside-code", name, Range(r), (data ?? (first is { IsExecutable: true } ? last : first))?.Name ?? "no section");
            }

            for (var j = 0; j < k; j++)
            {
                if (r.Start < ranges[j].End && ranges[j].Start < r.End)
                {
                    yield return Messages.RangeOverlap(mapLocation, $"range:{k}:overlap", name, Range(r), Range(ranges[j]));
                    break;
                }
            }
        }

        foreach (var f in image.Arm64Exceptions.Table.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var range = map.RangeOf(f.BeginAddress);
            if (range is not { IsArm64Format: true })
            {
                yield return context.IsPastCap ? Finding.PastCap : Messages.Arm64EntryMisplaced(Arm64Facts.EntryLocation(image, f), $"{Arm64Facts.Key(context, f)}:misplaced",
                    name, Arm64Facts.Describe(image, f.BeginAddress), range is { } r ? Range(r) : "no range of the code map");
            }
        }

        var directory = image.ExceptionDirectory;
        foreach (RuntimeFunction f in directory.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var range = map.RangeOf(f.BeginAddress);
            if (range is not { Kind: ChpeRangeKind.Amd64 })
            {
                yield return context.IsPastCap ? Finding.PastCap : Messages.X64EntryMisplaced(UnwindFacts.EntryLocation(context, f), $"{UnwindFacts.FunctionKey(context, f)}:misplaced",
                    name, Arm64Facts.Describe(image, f.BeginAddress), range is { } r ? Range(r) : "no range of the code map");
            }
        }
    }

    private static string Range(ChpeCodeRange r) => $"0x{r.Start:X}-0x{r.End:X} ({r.Kind switch { ChpeRangeKind.Arm64 => "ARM64", ChpeRangeKind.Arm64EC => "ARM64EC", ChpeRangeKind.Amd64 => "x64", _ => "type 3, undefined" }})";
}
