using System.Reflection.PortableExecutable;
using Pelint.Engine;
using Pelint.Pe;
using Pelint.Pe.Exceptions;

namespace Pelint.Rules;

/// <summary>One function entry a hot-patcher could redirect.</summary>
internal sealed record PatchableEntry(uint Rva, string? Name, RuntimeFunction? Function);

/// <summary>
/// The function entries of an image as a hot-patcher sees them (DOMAIN.md section 2): on x64 the
/// primary .pdata entries (a chained fragment is not an entry point) plus exported code; on x86
/// the exported code and the entry point. SEH filters and termination handlers are left out:
/// they are only reached through scope tables, never called, so nothing patches them.
/// </summary>
internal static class HotPatchEntries
{
    /// <summary>x64 patches jump through `jmp qword [rip+disp32]` (6 bytes); x86 through `jmp rel32` (5).</summary>
    public static int PaddingNeeded(PeImage image) => image.Machine == Machine.Amd64 ? 6 : 5;

    public static Applicability Applicability(PeImage image) =>
        image.Machine is Machine.Amd64 or Machine.I386
            ? Engine.Applicability.ForNativeCode(image)
            : Engine.Applicability.NotApplicable($"machine is {MachineNames.Of(image.Machine)}: hot-patching is checked for x86 and x64");

    public static IReadOnlyList<PatchableEntry> Of(PeImage image) => image.GetView(Build).Entries;

    private static EntryList Build(PeImage image)
    {
        var entries = new List<PatchableEntry>();
        if (image.Machine == Machine.Amd64)
        {
            var directory = ExceptionDirectory.Of(image);
            var funclets = SehFunclets(image);
            foreach (var f in directory.Functions)
            {
                if (!directory.IsX64(f) || funclets.Contains(f.BeginAddress) || directory.UnwindInfoOf(f) is not { IsChained: false })
                {
                    continue;
                }

                entries.Add(new PatchableEntry(f.BeginAddress, image.Exports.NameOf(f.BeginAddress), f));
            }
        }
        else
        {
            var entryPoint = (uint)image.OptionalHeader.AddressOfEntryPoint;
            if (entryPoint != 0 && IsCode(image, entryPoint))
            {
                entries.Add(new PatchableEntry(entryPoint, image.Exports.NameOf(entryPoint) ?? "entry point", null));
            }
        }

        foreach (var export in image.Exports.Functions)
        {
            if (!export.IsForwarder && IsCode(image, export.Rva))
            {
                var function = image.Machine == Machine.Amd64 ? ExceptionDirectory.Of(image).FindContaining(export.Rva) : null;
                entries.Add(new PatchableEntry(export.Rva, export.Name ?? $"#{export.Ordinal}", function));
            }
        }

        // By RVA, the first entry added for an RVA winning (OrderBy is stable, DistinctBy keeps the first).
        return new EntryList([.. entries.OrderBy(e => e.Rva).DistinctBy(e => e.Rva)]);
    }

    private static bool IsCode(PeImage image, uint rva) => image.Map.FindSection(rva) is { IsMemExecute: true };

    private static HashSet<uint> SehFunclets(PeImage image)
    {
        var funclets = new HashSet<uint>();
        foreach (var scoped in LanguageHandlers.Of(image).ScopedFunctions())
        {
            foreach (var r in scoped.Table.Records)
            {
                if (r.HandlerAddress != 1 && !scoped.Function.Contains(r.HandlerAddress))
                {
                    funclets.Add(r.HandlerAddress);
                }
            }
        }

        return funclets;
    }

    private sealed record EntryList(IReadOnlyList<PatchableEntry> Entries);
}

/// <summary>The per-image result shape of the hot-patch rules: counts, share, and capped related locations.</summary>
internal static class HotPatchReport
{
    public const int MaxRelatedLocations = 100;

    public static Finding Build(RuleContext context, string messageId, int checkedCount, OffenderList offenders, params string[] extra)
    {
        var image = context.Image;
        var share = checkedCount == 0 ? 0 : 100.0 * offenders.Count / checkedCount;
        var first = offenders.Listed[0].Entry;
        var related = offenders.Listed
            .Select(o => new FindingLocation(image.FileOffsetOf(o.Entry.Rva), 1, o.Entry.Rva, o.Entry.Name, o.Entry.Rva, o.Detail))
            .ToList();
        var capNote = offenders.Count > MaxRelatedLocations ? $"; the first {MaxRelatedLocations} are listed" : string.Empty;
        string[] arguments =
        [
            context.FileName,
            offenders.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            checkedCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            share.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture),
            capNote,
            .. extra,
        ];
        var finding = context.Report(messageId, new FindingLocation(image.FileOffsetOf(first.Rva), 1, first.Rva, first.Name, first.Rva, "first non-compliant function"), "image", arguments);
        return finding with
        {
            RelatedLocations = related,
            Properties = new Dictionary<string, object>
            {
                ["functionsChecked"] = checkedCount,
                ["functionsNonCompliant"] = offenders.Count,
            },
        };
    }
}

/// <summary>
/// The entries a hot-patch rule finds wanting: all are counted, the first
/// <see cref="HotPatchReport.MaxRelatedLocations"/> are kept with a detail (on a large image
/// most entries can fail, and a detail string for each would be built for nothing).
/// </summary>
internal sealed class OffenderList
{
    private readonly List<(PatchableEntry Entry, string Detail)> _listed = [];

    public int Count { get; private set; }

    /// <summary>Whether the next offender is listed, so its detail is worth describing.</summary>
    public bool Listing => _listed.Count < HotPatchReport.MaxRelatedLocations;

    public IReadOnlyList<(PatchableEntry Entry, string Detail)> Listed => _listed;

    public void Add(PatchableEntry entry, string detail)
    {
        if (Listing)
        {
            _listed.Add((entry, detail));
        }

        Count++;
    }
}
