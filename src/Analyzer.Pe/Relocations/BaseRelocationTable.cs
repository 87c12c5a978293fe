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
/// <see cref="BaseRelocationTable.ReadEntries"/>; <see cref="EntryCount"/> is bounded by the block
/// size and the directory's end.
/// </summary>
public readonly record struct BaseRelocationBlock(int Index, uint PageRva, uint SizeOfBlock, long FileOffset, int EntryCount)
{
    public const int HeaderSize = 8;
}

/// <summary>
/// The base relocation directory split into blocks. Framing problems (a block that cannot be
/// read, a size that would not advance, an overrun of the directory) end the walk and are
/// recorded; the semantic checks of each block belong to the rules. Blocks are not stored: a
/// directory can hold millions of them, so <see cref="Blocks"/> reads the file again each time
/// (through a window, so memory does not grow with the directory).
/// </summary>
public sealed class BaseRelocationTable
{
    private readonly PeImage? _image;
    private readonly long _start;
    private readonly long _size;

    private BaseRelocationTable(DataDirectory directory, IReadOnlyList<PeProblem> problems, PeImage? image = null, long start = 0, long size = 0, int blockCount = 0)
    {
        Directory = directory;
        Problems = problems;
        _image = image;
        _start = start;
        _size = size;
        BlockCount = blockCount;
    }

    public DataDirectory Directory { get; }

    public bool IsPresent => Directory.IsPresent;

    /// <summary>How many blocks <see cref="Blocks"/> yields.</summary>
    public int BlockCount { get; }

    /// <summary>The blocks in directory order, read from the file as they are enumerated.</summary>
    public IEnumerable<BaseRelocationBlock> Blocks => _image is null ? [] : Walk(_image, _start, _size);

    public IReadOnlyList<PeProblem> Problems { get; }

    /// <summary>
    /// The entries of a block as stored (2 bytes each, see <see cref="EntryAt"/>), read through
    /// <paramref name="reader"/> and valid until its next read; fewer when the file shrank since it was opened.
    /// </summary>
    public static ReadOnlySpan<byte> ReadEntries(ImageReader reader, BaseRelocationBlock block)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var bytes = reader.ReadAt(block.FileOffset + BaseRelocationBlock.HeaderSize, block.EntryCount * 2);
        return bytes[..(bytes.Length & ~1)];
    }

    /// <summary>Entry <paramref name="index"/> of what <see cref="ReadEntries"/> returned.</summary>
    public static BaseRelocationEntry EntryAt(ReadOnlySpan<byte> entries, int index) =>
        new(System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(entries[(index * 2)..]));

    public static BaseRelocationTable Read(PeImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var dir = image.GetDirectory(DataDirectoryIndex.BaseRelocation);
        var problems = new List<PeProblem>();
        if (!dir.IsPresent)
        {
            return new BaseRelocationTable(dir, problems);
        }

        if (!image.Map.TryGetFileOffset(dir.Rva, out var start, out var available))
        {
            problems.Add(new PeProblem(PeStructure.BaseRelocations, ProblemCode.RelocationDirectoryUnmapped,
                $"the base relocation directory at RVA 0x{dir.Rva:X} is not backed by file data", dir.Rva, dir.FileOffset, 8));
            return new BaseRelocationTable(dir, problems);
        }

        var size = (long)dir.Size;
        if (size > available)
        {
            problems.Add(new PeProblem(PeStructure.BaseRelocations, ProblemCode.RelocationDirectoryTruncated,
                $"the base relocation directory (RVA 0x{dir.Rva:X}, {dir.Size} bytes) runs past its section's file data ({available} bytes available)",
                dir.Rva, dir.FileOffset, 8));
            size = available;
        }

        using var reader = image.OpenReader();
        long position = 0;
        var count = 0;
        while (position < size)
        {
            var blockOffset = start + position;
            var blockRva = (uint)(dir.Rva + position);
            if (!TryReadBlock(reader, start, size, position, count, out var block, out var last))
            {
                problems.Add(new PeProblem(PeStructure.BaseRelocations, ProblemCode.RelocationBlockHeaderTruncated,
                    $"{size - position} trailing bytes at RVA 0x{blockRva:X} cannot hold a block header", blockRva, blockOffset, (int)(size - position)));
                break;
            }

            count++;
            if (last)
            {
                // A size below the header cannot advance the walk: the rule reports that block. A
                // size past the directory's end is a framing problem.
                if (block.SizeOfBlock >= BaseRelocationBlock.HeaderSize)
                {
                    problems.Add(new PeProblem(PeStructure.BaseRelocations, ProblemCode.RelocationBlockOverrun,
                        $"block {block.Index} (page 0x{block.PageRva:X}) declares {block.SizeOfBlock} bytes but only {size - position} remain in the directory",
                        blockRva, blockOffset, 8));
                }

                break;
            }

            position += block.SizeOfBlock;
        }

        return new BaseRelocationTable(dir, problems, image, start, size, count);
    }

    private static IEnumerable<BaseRelocationBlock> Walk(PeImage image, long start, long size)
    {
        using var reader = image.OpenReader();
        long position = 0;
        var index = 0;
        while (position < size && TryReadBlock(reader, start, size, position, index++, out var block, out var last))
        {
            yield return block;
            if (last)
            {
                yield break;
            }

            position += block.SizeOfBlock;
        }
    }

    /// <summary>
    /// The block at <paramref name="position"/> of the directory (at file offset
    /// <paramref name="start"/>): false when no block header fits there (or the file shrank under
    /// it); <paramref name="last"/> when its size cannot advance the walk or runs past the end.
    /// </summary>
    private static bool TryReadBlock(ImageReader reader, long start, long size, long position, int index, out BaseRelocationBlock block, out bool last)
    {
        block = default;
        last = true;
        var blockOffset = start + position;
        var header = size - position < BaseRelocationBlock.HeaderSize ? default : reader.ReadAt(blockOffset, BaseRelocationBlock.HeaderSize);
        if (header.Length < BaseRelocationBlock.HeaderSize)
        {
            return false;
        }

        SpanRead.TryUInt32(header, 0, out var pageRva);
        SpanRead.TryUInt32(header, 4, out var sizeOfBlock);
        if (sizeOfBlock < BaseRelocationBlock.HeaderSize)
        {
            block = new BaseRelocationBlock(index, pageRva, sizeOfBlock, blockOffset, 0);
            return true;
        }

        var usable = Math.Min(sizeOfBlock, size - position);
        block = new BaseRelocationBlock(index, pageRva, sizeOfBlock, blockOffset, (int)((usable - BaseRelocationBlock.HeaderSize) / 2));
        last = sizeOfBlock > size - position;
        return true;
    }
}
