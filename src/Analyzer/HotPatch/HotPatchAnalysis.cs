using System.Reflection.PortableExecutable;
using Pelint.Pe;
using Pelint.Pe.Code;
using Pelint.Pe.Exceptions;

namespace Pelint.HotPatch;

/// <summary>One function entry as a hot patch sees it.</summary>
public sealed record PatchableEntry(uint Rva, string Name, string Key, int FirstInstructionLength, string FirstInstruction, bool HasPadding, string PaddingProblem, bool StartsWithMovEdiEdi);

/// <summary>
/// The function entries of an image and what a hot patch needs at each: a first instruction of
/// at least 2 bytes and int3/nop padding before it owned by no other function. Only the
/// bytes at and before each entry are decoded.
/// </summary>
public sealed class HotPatchAnalysis
{
    private HotPatchAnalysis(IReadOnlyList<PatchableEntry> entries, int paddingNeeded)
    {
        Entries = entries;
        PaddingNeeded = paddingNeeded;
    }

    public IReadOnlyList<PatchableEntry> Entries { get; }

    /// <summary>Bytes of padding a patch writes its long jump into: 6 on x64 (FF 25 disp32), 5 on x86 (E9 rel32).</summary>
    public int PaddingNeeded { get; }

    public static HotPatchAnalysis Of(PeImage image) => image.GetView(Build);

    private static HotPatchAnalysis Build(PeImage image)
    {
        var x64 = image.Machine == Machine.Amd64;
        var need = x64 ? 6 : 5;
        var code = ImageCode.Of(image);
        var directory = x64 ? ExceptionDirectory.Of(image) : null;
        var rvas = new SortedSet<uint>();
        if (directory is not null)
        {
            foreach (var entry in directory.Functions)
            {
                // Chained fragments and low-bit entries share another function's unwind data: not entry points.
                if (!entry.IsIndirect && directory.IsX64(entry) && directory.UnwindInfoOf(entry) is { IsChained: false })
                {
                    rvas.Add(entry.BeginAddress);
                }
            }

            // Filters and __finally funclets named by C scope tables are called by the language
            // handler, never by code a patch redirects: not patchable entries.
            rvas.ExceptWith(ScopeTableFunclets(image, directory));
        }

        foreach (var export in image.Exports.Functions)
        {
            if (!export.IsForwarder && image.Map.FindSection(export.Rva) is { IsExecutable: true })
            {
                rvas.Add(export.Rva);
            }
        }

        if (!x64 && image.OptionalHeader.AddressOfEntryPoint is var entryPoint and not 0
            && image.Map.FindSection((uint)entryPoint) is { IsExecutable: true })
        {
            rvas.Add((uint)entryPoint);
        }

        var entries = new List<PatchableEntry>(rvas.Count);
        uint previous = 0;
        var first = true;
        foreach (var rva in rvas)
        {
            var name = image.Exports.NameOf(rva) ?? (rva == (uint)image.OptionalHeader.AddressOfEntryPoint ? "entry point" : $"sub_{rva:X}");
            var key = image.Exports.NameOf(rva) ?? (directory?.FindByBegin(rva) is { } f ? $"pdata#{f.Index}" : "entry point");
            var instruction = code.DecodeOne(rva);
            var length = instruction is { } i && i.Code != Iced.Intel.Code.INVALID ? i.Length : 0;
            var text = instruction?.ToString() ?? "(no bytes)";
            var padding = CheckPadding(image, directory, rva, need, first ? null : previous);
            var movEdiEdi = code.TryGetBytes(rva, 2, out var head) && head[0] == 0x8B && head[1] == 0xFF;
            entries.Add(new PatchableEntry(rva, name, key, length, text, padding is null, padding ?? string.Empty, movEdiEdi));
            previous = rva;
            first = false;
        }

        return new HotPatchAnalysis(entries, need);
    }

    private static HashSet<uint> ScopeTableFunclets(PeImage image, ExceptionDirectory directory)
    {
        var funclets = new HashSet<uint>();
        var handlers = LanguageHandlers.Of(image);
        var tables = new HashSet<uint>();
        foreach (var entry in directory.Functions)
        {
            if (entry.IsIndirect || !directory.IsX64(entry) || directory.UnwindInfoOf(entry) is not { HasHandler: true, HandlerRva: { } handler, LanguageDataRva: { } data }
                || handlers.Identify(handler) is not { UsesScopeTable: true } || !tables.Add(data))
            {
                continue;
            }

            foreach (var record in ScopeTable.Read(image, data).Records)
            {
                if (record.HandlerAddress != 1)
                {
                    funclets.Add(record.HandlerAddress);
                }
            }
        }

        return funclets;
    }

    /// <summary>Null when the padding is sound, else why not.</summary>
    private static string? CheckPadding(PeImage image, ExceptionDirectory? directory, uint rva, int need, uint? previousEntry)
    {
        if (rva < (uint)need || image.Map.FindSection(rva - (uint)need) is not { } section || image.Map.FindSection(rva) != section)
        {
            return "the entry is too close to the start of its section";
        }

        if (!image.TryGetSpan(rva - (uint)need, need, out var bytes))
        {
            return "the bytes before the entry are not in the file";
        }

        for (var k = 0; k < bytes.Length; k++)
        {
            if (bytes[k] is not (0xCC or 0x90))
            {
                return $"byte 0x{bytes[k]:X2} at entry-{need - k} is not int3 or nop";
            }
        }

        for (var back = 1; back <= need; back++)
        {
            if (directory?.FindContaining(rva - (uint)back) is { } owner)
            {
                return $"entry-{back} belongs to the function at 0x{owner.BeginAddress:X}";
            }
        }

        if (previousEntry is { } p && rva - p < (uint)need)
        {
            return $"another entry starts at 0x{p:X}, inside the padding";
        }

        return null;
    }
}
