using Pelint.Pe.Headers;
using Pelint.Pe.IO;

namespace Pelint.Pe.Debug;

/// <summary>One IMAGE_DEBUG_DIRECTORY entry.</summary>
public sealed record DebugEntry(int Index, uint Type, uint SizeOfData, uint AddressOfRawData, uint PointerToRawData, long FileOffset)
{
    public const uint CodeView = 2;
    public const uint Repro = 16;
    public const uint ExDllCharacteristics = 20;
}

/// <summary>Extended DLL characteristics (IMAGE_DLLCHARACTERISTICS_EX_*), stored as debug data of type 20.</summary>
[Flags]
public enum ExDllCharacteristics : uint
{
    None = 0,
    CetCompat = 0x1,
    CetCompatStrictMode = 0x2,
    CetSetContextIpValidationRelaxedMode = 0x4,
    CetDynamicApisAllowInProc = 0x8,
    ForwardCfiCompat = 0x40,
    HotPatchCompatible = 0x80,
}

/// <summary>The debug directory's entries and the extended DLL characteristics, if present.</summary>
public sealed class DebugDirectory
{
    public const int EntrySize = 28;
    public const int MaxEntries = 1024;

    private DebugDirectory(DataDirectory directory, IReadOnlyList<DebugEntry> entries, ExDllCharacteristics? ex, CodeViewRecord? codeView, IReadOnlyList<PeProblem> problems)
    {
        Directory = directory;
        Entries = entries;
        ExDllCharacteristics = ex;
        CodeView = codeView;
        Problems = problems;
    }

    public DataDirectory Directory { get; }

    public IReadOnlyList<DebugEntry> Entries { get; }

    /// <summary>Null when the image has no IMAGE_DEBUG_TYPE_EX_DLLCHARACTERISTICS entry.</summary>
    public ExDllCharacteristics? ExDllCharacteristics { get; }

    /// <summary>The first RSDS CodeView record (the PDB this image was linked with); null when there is none.</summary>
    public CodeViewRecord? CodeView { get; }

    public IReadOnlyList<PeProblem> Problems { get; }

    public static DebugDirectory Read(PeImage image)
    {
        var dir = image.GetDirectory(DataDirectoryIndex.Debug);
        var entries = new List<DebugEntry>();
        var problems = new List<PeProblem>();
        ExDllCharacteristics? ex = null;
        CodeViewRecord? codeView = null;
        if (!dir.IsPresent)
        {
            return new DebugDirectory(dir, entries, ex, codeView, problems);
        }

        var count = (int)Math.Min(dir.Size / EntrySize, MaxEntries);
        using var reader = image.OpenReader();
        var span = reader.GetAvailableSpan(dir.Rva, count * EntrySize).ToArray(); // a copy: the entries' data is read through the same reader
        if (span.Length < count * EntrySize)
        {
            problems.Add(new PeProblem(PeStructure.Debug, ProblemCode.DebugDirectoryTruncated,
                $"the debug directory at RVA 0x{dir.Rva:X} declares {dir.Size} bytes but the file holds {span.Length}", dir.Rva, dir.FileOffset, 8));
            count = span.Length / EntrySize;
        }

        var start = image.FileOffsetOf(dir.Rva) ?? 0;
        for (var i = 0; i < count; i++)
        {
            var e = span.AsSpan(i * EntrySize, EntrySize);
            SpanRead.TryUInt32(e, 12, out var type);
            SpanRead.TryUInt32(e, 16, out var size);
            SpanRead.TryUInt32(e, 20, out var address);
            SpanRead.TryUInt32(e, 24, out var pointer);
            var entry = new DebugEntry(i, type, size, address, pointer, start + (i * EntrySize));
            entries.Add(entry);
            if (type == DebugEntry.CodeView && codeView is null && size >= CodeViewRecord.HeaderSize && pointer != 0 && pointer < image.FileLength)
            {
                // Found by file pointer, as debuggers do; the record may run to the end of the file at most.
                codeView = CodeViewRecord.TryParse(reader.ReadAt(pointer, (int)Math.Min(size, int.MaxValue)));
            }

            if (type == DebugEntry.ExDllCharacteristics && size >= 4)
            {
                // The data is found by file pointer, as the loader and link.exe do.
                if (pointer != 0 && SpanRead.TryUInt32(reader.ReadAt(pointer, 4), 0, out var flags))
                {
                    ex = (ExDllCharacteristics)flags;
                }
                else if (address != 0 && reader.TryGetSpan(address, 4, out var data))
                {
                    ex = (ExDllCharacteristics)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data);
                }
            }
        }

        return new DebugDirectory(dir, entries, ex, codeView, problems);
    }
}
