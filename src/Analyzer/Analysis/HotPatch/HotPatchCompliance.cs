using System.Reflection.PortableExecutable;
using Pelint.Pe;
using Pelint.Pe.Exceptions;

namespace Pelint.Analysis.HotPatch;

/// <summary>Why an entry's first instruction does not allow an atomic 2-byte patch.</summary>
public enum FirstInstructionProblem : byte
{
    None,
    OneByte,
    Undecodable,
}

/// <summary>Why an entry has no usable padding before it.</summary>
public enum PaddingProblem : byte
{
    None,
    AtSectionStart,
    NotInFile,
    NotInt3OrNop,
    OwnedByAnotherFunction,
}

/// <summary>One entry judged as a hot-patcher needs it: first instruction and padding.</summary>
public readonly record struct EntryCompliance(PatchableEntry Entry, FirstInstructionProblem FirstInstruction, PaddingProblem Padding)
{
    public bool IsCompliant => FirstInstruction == FirstInstructionProblem.None && Padding == PaddingProblem.None;
}

/// <summary>
/// Every hot-patch entry of an image judged once, shared by PE2001, PE2002 and PE2003, and the image's
/// intent: an image was built hot-patchable (MSVC <c>/hotpatch</c> + <c>/FUNCTIONPADMIN</c>,
/// clang <c>-fms-hotpatch</c> + lld-link <c>/functionpadmin</c>) when nearly all of its entries
/// are both padded and start with an instruction of at least 2 bytes: at least
/// <see cref="IntentShare"/> of them, or all but one of at least <see cref="SmallImageEntries"/>.
/// Compilers align functions with int3 and x64 compilers start most functions with a long
/// instruction anyway, so an image built without the options can have both on many entries by
/// chance: over 854 x86/x64 images (the .NET runtime pack, NuGet native packages, Wine), those
/// built hot-patchable (the Windows SDK tools) had 94-100% compliant entries, the others at most
/// 82% (capstone.dll), most under 60%.
/// </summary>
public sealed class HotPatchCompliance
{
    /// <summary>The share of fully compliant entries at or above which an image shows intent.</summary>
    public const double IntentShare = 0.9;

    /// <summary>The fewest entries for which "all but one comply" shows intent (a small image cannot reach a share).</summary>
    public const int SmallImageEntries = 5;

    private static readonly AnalysisKey<HotPatchCompliance> Key = new("hot-patch-compliance", Build);

    private HotPatchCompliance(Judged entries, int movEdiEdi)
    {
        Entries = entries;
        MovEdiEdi = movEdiEdi;
        foreach (var e in entries)
        {
            Padded += e.Padding == PaddingProblem.None ? 1 : 0;
            LongFirstInstruction += e.FirstInstruction == FirstInstructionProblem.None ? 1 : 0;
            Compliant += e.IsCompliant ? 1 : 0;
        }
    }

    public IReadOnlyList<EntryCompliance> Entries { get; }

    public int Padded { get; }

    public int LongFirstInstruction { get; }

    public int Compliant { get; }

    /// <summary>Entries that start with the x86 convention <c>mov edi, edi</c> (8B FF).</summary>
    public int MovEdiEdi { get; }

    /// <summary>Whether the image was built to be hot-patched (see the class summary).</summary>
    public bool HasIntent => Entries.Count > 0
        && (Compliant >= IntentShare * Entries.Count || (Entries.Count >= SmallImageEntries && Entries.Count - Compliant <= 1));

    public static HotPatchCompliance Of(AnalysisContext context) => context.Get(Key);

    private static HotPatchCompliance Build(AnalysisContext context)
    {
        var image = context.Image;
        var entries = HotPatchEntries.Of(context);
        var needed = HotPatchEntries.PaddingNeeded(image);
        var directory = image.Machine == Machine.Amd64 ? image.ExceptionDirectory : null;
        var first = new FirstInstructionProblem[entries.Count];
        var padding = new PaddingProblem[entries.Count];
        var movEdiEdi = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var entry = entries[i];
            // HotPatchEntries measured the first instruction and read the padding bytes already.
            first[i] = entry.FirstInstructionLength == 0 ? FirstInstructionProblem.Undecodable
                : entry.FirstInstructionLength < 2 ? FirstInstructionProblem.OneByte
                : FirstInstructionProblem.None;
            if (entry.StartsWithMovEdiEdi)
            {
                movEdiEdi++;
            }

            padding[i] = PaddingOf(image, directory, entry, needed);
        }

        return new HotPatchCompliance(new Judged(entries, first, padding), movEdiEdi);
    }

    // The entries with their two verdicts, one byte each beside the entry list the image already
    // holds (a copy of every entry in each verdict took 8 MB for biome.exe's 200,000 entries).
    private sealed class Judged(IReadOnlyList<PatchableEntry> entries, FirstInstructionProblem[] first, PaddingProblem[] padding) : IReadOnlyList<EntryCompliance>
    {
        public int Count => entries.Count;

        public EntryCompliance this[int index] => new(entries[index], first[index], padding[index]);

        public IEnumerator<EntryCompliance> GetEnumerator()
        {
            for (var i = 0; i < entries.Count; i++)
            {
                yield return this[i];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>The bytes that should be padding before an entry (for messages), or empty when they are not in the file.</summary>
    public static ReadOnlySpan<byte> PaddingBytes(PeImage image, uint entry)
    {
        ArgumentNullException.ThrowIfNull(image);
        var needed = HotPatchEntries.PaddingNeeded(image);
        using var reader = image.OpenReader();
        return entry >= needed && reader.TryGetSpan(entry - (uint)needed, needed, out var padding) ? padding.ToArray() : [];
    }

    /// <summary>The x64 function whose range covers the padding before an entry, if any.</summary>
    public static RuntimeFunction? PaddingOwner(PeImage image, uint entry)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Machine != Machine.Amd64)
        {
            return null;
        }

        var needed = (uint)HotPatchEntries.PaddingNeeded(image);
        for (var rva = entry >= needed ? entry - needed : 0; rva < entry; rva++)
        {
            if (image.ExceptionDirectory.FindContaining(rva) is { } owner)
            {
                return owner;
            }
        }

        return null;
    }

    private static PaddingProblem PaddingOf(PeImage image, ExceptionDirectory? directory, in PatchableEntry patchable, int needed)
    {
        var entry = patchable.Rva;
        var section = image.Map.FindSection(entry);
        if (entry < needed || section is null || entry - (uint)needed < section.VirtualAddress)
        {
            return PaddingProblem.AtSectionStart;
        }

        var start = entry - (uint)needed;
        if (!patchable.PaddingInFile)
        {
            return PaddingProblem.NotInFile;
        }

        for (var k = 0; k < needed; k++)
        {
            if ((byte)(patchable.Padding >> (8 * k)) is not (0xCC or 0x90))
            {
                return PaddingProblem.NotInt3OrNop;
            }
        }

        // Padding that lies inside another function's range belongs to that function.
        for (var rva = start; rva < entry; rva++)
        {
            if (directory?.FindContaining(rva) is not null)
            {
                return PaddingProblem.OwnedByAnotherFunction;
            }
        }

        return PaddingProblem.None;
    }
}
