using Pelint.Pe.Headers;
using Pelint.Pe.IO;

namespace Pelint.Pe.Relocations;

/// <summary>Base relocation types (PE/COFF spec, "Base Relocation Types").</summary>
public enum BaseRelocationType : byte
{
    Absolute = 0,
    High = 1,
    Low = 2,
    HighLow = 3,
    HighAdj = 4,
    MachineSpecific5 = 5,
    Reserved6 = 6,
    MachineSpecific7 = 7,
    MachineSpecific8 = 8,
    MachineSpecific9 = 9,
    Dir64 = 10,
}

/// <summary>One fixup: the type in the high 4 bits, the offset in the page in the low 12.</summary>
public readonly record struct BaseRelocationEntry(ushort Raw)
{
    public BaseRelocationType Type => (BaseRelocationType)(Raw >> 12);

    public int Offset => Raw & 0xFFF;
}

/// <summary>
/// One block of the base relocation directory, as written. Its entries are read through
/// <see cref="BaseRelocationTable.GetEntry"/>; <see cref="EntryCount"/> is bounded by the block
/// size and the directory's end.
/// </summary>
public sealed record BaseRelocationBlock(int Index, uint PageRva, uint SizeOfBlock, long FileOffset, int EntryCount)
{
    public const int HeaderSize = 8;
}

/// <summary>
/// The base relocation directory, read once, split into blocks. Framing problems (a block that cannot be
/// read, a size that would not advance, an overrun of the directory) end the walk and are
/// recorded; the semantic checks of each block belong to the rules.
/// </summary>
public sealed class BaseRelocationTable
{
    // The directory's bytes as read, from file offset _start.
    private readonly byte[] _data;
    private readonly long _start;

    private BaseRelocationTable(DataDirectory directory, IReadOnlyList<BaseRelocationBlock> blocks, IReadOnlyList<PeProblem> problems, byte[]? data = null, long start = 0)
    {
        _data = data ?? [];
        _start = start;
        Directory = directory;
        Blocks = blocks;
        Problems = problems;
    }

    public DataDirectory Directory { get; }

    public bool IsPresent => Directory.IsPresent;

    public IReadOnlyList<BaseRelocationBlock> Blocks { get; }

    public IReadOnlyList<PeProblem> Problems { get; }

    /// <summary>The entry at <paramref name="index"/> of one of this table's blocks.</summary>
    public BaseRelocationEntry GetEntry(BaseRelocationBlock block, int index)
    {
        ArgumentNullException.ThrowIfNull(block);
        if ((uint)index >= (uint)block.EntryCount || !SpanRead.TryUInt16(_data, (int)(block.FileOffset - _start + BaseRelocationBlock.HeaderSize + (index * 2)), out var raw))
        {
            throw new ArgumentOutOfRangeException(nameof(index));
        }

        return new BaseRelocationEntry(raw);
    }

    public static BaseRelocationTable Read(PeImage image)
    {
        var dir = image.GetDirectory(DataDirectoryIndex.BaseRelocation);
        var blocks = new List<BaseRelocationBlock>();
        var problems = new List<PeProblem>();
        if (!dir.IsPresent)
        {
            return new BaseRelocationTable(dir, blocks, problems);
        }

        if (!image.Map.TryGetFileOffset(dir.Rva, out var start, out var available))
        {
            problems.Add(new PeProblem(PeStructure.BaseRelocations, ProblemCode.RelocationDirectoryUnmapped,
                $"the base relocation directory at RVA 0x{dir.Rva:X} is not backed by file data", dir.Rva, dir.FileOffset, 8));
            return new BaseRelocationTable(dir, blocks, problems);
        }

        var size = (long)dir.Size;
        if (size > available)
        {
            problems.Add(new PeProblem(PeStructure.BaseRelocations, ProblemCode.RelocationDirectoryTruncated,
                $"the base relocation directory (RVA 0x{dir.Rva:X}, {dir.Size} bytes) runs past its section's file data ({available} bytes available)",
                dir.Rva, dir.FileOffset, 8));
            size = available;
        }

        byte[] file;
        using (var reader = image.OpenReader())
        {
            file = reader.ReadAt(start, (int)size).ToArray();
        }

        // A file truncated since it was opened holds less (the image reports the change).
        size = Math.Min(size, file.Length);
        long position = 0;
        while (position < size)
        {
            var blockOffset = start + position;
            var blockRva = (uint)(dir.Rva + position);
            if (size - position < BaseRelocationBlock.HeaderSize)
            {
                problems.Add(new PeProblem(PeStructure.BaseRelocations, ProblemCode.RelocationBlockHeaderTruncated,
                    $"{size - position} trailing bytes at RVA 0x{blockRva:X} cannot hold a block header", blockRva, blockOffset, (int)(size - position)));
                break;
            }

            SpanRead.TryUInt32(file, (int)position, out var pageRva);
            SpanRead.TryUInt32(file, (int)position + 4, out var sizeOfBlock);
            if (sizeOfBlock < BaseRelocationBlock.HeaderSize)
            {
                // A size that cannot advance the walk: report it and stop rather than loop.
                blocks.Add(new BaseRelocationBlock(blocks.Count, pageRva, sizeOfBlock, blockOffset, 0));
                break;
            }

            var usable = Math.Min(sizeOfBlock, size - position);
            var entries = (int)((usable - BaseRelocationBlock.HeaderSize) / 2);
            blocks.Add(new BaseRelocationBlock(blocks.Count, pageRva, sizeOfBlock, blockOffset, entries));
            if (sizeOfBlock > size - position)
            {
                problems.Add(new PeProblem(PeStructure.BaseRelocations, ProblemCode.RelocationBlockOverrun,
                    $"block {blocks.Count - 1} (page 0x{pageRva:X}) declares {sizeOfBlock} bytes but only {size - position} remain in the directory",
                    blockRva, blockOffset, 8));
                break;
            }

            position += sizeOfBlock;
        }

        return new BaseRelocationTable(dir, blocks, problems, file, start);
    }
}
