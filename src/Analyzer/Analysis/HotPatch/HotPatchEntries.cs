using System.Reflection.PortableExecutable;
using Pelint.Pe;
using Pelint.Pe.Exceptions;

namespace Pelint.Analysis.HotPatch;

/// <summary>One function entry a hot-patcher could redirect.</summary>
public sealed record PatchableEntry(uint Rva, string? Name, RuntimeFunction? Function);

/// <summary>
/// The function entries of an image as a hot-patcher sees them: on x64 the
/// primary .pdata entries (a chained fragment is not an entry point) plus exported code; on x86
/// the exported code and the entry point. SEH filters and termination handlers are left out:
/// they are only reached through scope tables, never called, so nothing patches them.
/// </summary>
public static class HotPatchEntries
{
    /// <summary>x64 patches jump through `jmp qword [rip+disp32]` (6 bytes); x86 through `jmp rel32` (5).</summary>
    public static int PaddingNeeded(PeImage image) => image.Machine == Machine.Amd64 ? 6 : 5;

    private static readonly AnalysisKey<EntryList> Key = new("hot-patch-entries", context => Build(context.Image));

    /// <summary>The entries, by RVA, each once.</summary>
    public static IReadOnlyList<PatchableEntry> Of(AnalysisContext context) => context.Get(Key).Entries;

    private static EntryList Build(PeImage image)
    {
        var entries = new List<PatchableEntry>();
        if (image.Machine == Machine.Amd64)
        {
            var directory = image.ExceptionDirectory;
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
                var function = image.Machine == Machine.Amd64 ? image.ExceptionDirectory.FindContaining(export.Rva) : null;
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
        foreach (var scoped in image.LanguageHandlers.ScopedFunctions())
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
