using System.Buffers.Binary;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;
using Pelint.Pe;
using Pelint.Pe.Code;
using Pelint.Pe.IO;

namespace Pelint.Analysis.HotPatch;

/// <summary>
/// One function entry a hot-patcher could redirect, with what a patch needs of its bytes, read
/// once for both hot-patch rules: the length of its first instruction and the bytes before it.
/// </summary>
/// <param name="Rva">The entry's RVA.</param>
/// <param name="Name">Its export name, "entry point", or null.</param>
public readonly record struct PatchableEntry(uint Rva, string? Name)
{
    /// <summary>The first instruction's length; 0 when no byte of it is in the file or it does not decode.</summary>
    public int FirstInstructionLength { get; init; }

    /// <summary>The entry starts with <c>mov edi, edi</c> (8B FF), the 2-byte no-op x86 compilers emit for patching.</summary>
    public bool StartsWithMovEdiEdi { get; init; }

    /// <summary>Whether the <see cref="HotPatchEntries.PaddingNeeded"/> bytes before the entry are all in the file.</summary>
    public bool PaddingInFile { get; init; }

    /// <summary>Those bytes when <see cref="PaddingInFile"/>, the first one in the low byte.</summary>
    public ulong Padding { get; init; }
}

/// <summary>
/// The function entries of an image as a hot-patcher sees them: on x64 the
/// primary .pdata entries (a chained fragment is not an entry point) plus exported code; on x86
/// the exported code and the entry point. SEH filters and termination handlers are left out:
/// they are only reached through scope tables, never called, so nothing patches them. Each
/// entry's bytes are read in one pass, in chunks on the context's threads.
/// </summary>
public static class HotPatchEntries
{
    /// <summary>Entries per unit of work (fixed, so the outcome does not depend on the thread count).</summary>
    public const int ChunkEntries = 4096;

    /// <summary>x64 patches jump through `jmp qword [rip+disp32]` (6 bytes); x86 through `jmp rel32` (5).</summary>
    public static int PaddingNeeded(PeImage image) => image.Machine == Machine.Amd64 ? 6 : 5;

    private static readonly AnalysisKey<EntryList> Key = new("hot-patch-entries", Build);

    /// <summary>The entries, by RVA, each once.</summary>
    public static IReadOnlyList<PatchableEntry> Of(AnalysisContext context) => context.Get(Key).Entries;

    private static EntryList Build(AnalysisContext context)
    {
        var image = context.Image;
        var functions = image.Machine == Machine.Amd64 ? image.ExceptionDirectory.Functions.Count : 1;
        var entries = new List<PatchableEntry>(functions + image.Exports.Functions.Count);
        if (image.Machine == Machine.Amd64)
        {
            var directory = image.ExceptionDirectory;
            var funclets = SehFunclets(image);
            foreach (var f in directory.FunctionSpan)
            {
                if (!directory.IsX64(f) || funclets.Contains(f.BeginAddress) || directory.UnwindInfoOf(f) is not { IsChained: false })
                {
                    continue;
                }

                entries.Add(new PatchableEntry(f.BeginAddress, image.Exports.NameOf(f.BeginAddress)));
            }
        }
        else
        {
            var entryPoint = (uint)image.OptionalHeader.AddressOfEntryPoint;
            if (entryPoint != 0 && IsCode(image, entryPoint))
            {
                entries.Add(new PatchableEntry(entryPoint, image.Exports.NameOf(entryPoint) ?? "entry point"));
            }
        }

        foreach (var export in image.Exports.Functions)
        {
            if (!export.IsForwarder && IsCode(image, export.Rva))
            {
                entries.Add(new PatchableEntry(export.Rva, export.Name ?? $"#{export.Ordinal}"));
            }
        }

        // By RVA, the first entry added for an RVA winning: the insertion index breaks ties.
        var items = CollectionsMarshal.AsSpan(entries);
        var keys = new ulong[items.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = ((ulong)items[i].Rva << 32) | (uint)i;
        }

        keys.AsSpan().Sort(items);
        var unique = 0;
        for (var i = 0; i < items.Length; i++)
        {
            if (unique == 0 || items[i].Rva != items[unique - 1].Rva)
            {
                items[unique++] = items[i];
            }
        }

        entries.RemoveRange(unique, entries.Count - unique);
        ReadBytes(context, entries);
        return new EntryList(entries);
    }

    // Each entry's first instruction and the padding before it, in chunks of entries (sorted by
    // RVA, so each worker's reader moves forward through the code).
    private static void ReadBytes(AnalysisContext context, List<PatchableEntry> entries)
    {
        var image = context.Image;
        var needed = PaddingNeeded(image);
        ChunkedWork.Run(
            context,
            (entries.Count + ChunkEntries - 1) / ChunkEntries,
            () => new EntryReader(image, image.Machine == Machine.Amd64),
            (reader, chunk) =>
            {
                var span = CollectionsMarshal.AsSpan(entries); // written in place: each chunk its own entries
                for (var i = chunk * ChunkEntries; i < Math.Min(span.Length, (chunk + 1) * ChunkEntries); i++)
                {
                    span[i] = reader.Read(span[i], needed);
                }
            });
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

    /// <summary>One worker's reader and decoder.</summary>
    private sealed class EntryReader(PeImage image, bool x64) : IDisposable
    {
        private readonly ImageReader _reader = image.OpenReader();
        private readonly CodeCursor _cursor = image.Code.OpenCursor();

        public PatchableEntry Read(PatchableEntry entry, int needed)
        {
            var rva = entry.Rva;
            var padding = 0UL;
            var paddingInFile = false;
            if (rva >= needed && _reader.TryGetSpan(rva - (uint)needed, needed, out var before))
            {
                Span<byte> wide = stackalloc byte[8];
                before.CopyTo(wide);
                padding = BinaryPrimitives.ReadUInt64LittleEndian(wide);
                paddingInFile = true;
            }

            // The first instruction, from the bytes in the file up to its architectural maximum:
            // measured by the x64 length table where it answers (held to Iced's lengths by a test), else decoded.
            var code = _reader.GetAvailableSpan(rva, CodeCursor.MaxInstructionLength);
            var length = x64 ? InstructionLength.Of(code, out _) : 0;
            if (length == 0 && !code.IsEmpty)
            {
                _cursor.Decode(code, rva, out var first);
                length = first.IsInvalid ? 0 : first.Length;
            }

            return entry with
            {
                FirstInstructionLength = length,
                StartsWithMovEdiEdi = code.Length >= 2 && code[0] == 0x8B && code[1] == 0xFF,
                PaddingInFile = paddingInFile,
                Padding = padding,
            };
        }

        public void Dispose()
        {
            _reader.Dispose();
            _cursor.Dispose();
        }
    }
}
