using System.Buffers.Binary;

namespace Pelint.Pe.Pdb;

/// <summary>
/// The multi-stream file (MSF 7.00) container of a PDB: a superblock, fixed-size blocks, and a
/// stream directory that lists each stream's size and blocks. Everything in it is checked before
/// use: the block size, every block index against the block count and the file's length, the
/// directory against the file, and each stream's block list against the directory's size, so a
/// hostile file can make no read leave it and no allocation exceed what it holds.
/// </summary>
internal sealed class MsfFile
{
    public const int SuperBlockSize = 56;

    private static ReadOnlySpan<byte> Magic => "Microsoft C/C++ MSF 7.00\r\n\u001aDS\0\0\0"u8;

    private static ReadOnlySpan<byte> OldMagic => "Microsoft C/C++ program database 2.00\r\n"u8;

    private readonly ByteSource _source;
    private readonly uint[] _streamSizes;
    private readonly int[] _firstBlock;
    private readonly uint[] _blocks;

    private MsfFile(ByteSource source, int blockSize, uint blockCount, uint[] streamSizes, int[] firstBlock, uint[] blocks)
    {
        _source = source;
        BlockSize = blockSize;
        BlockCount = blockCount;
        _streamSizes = streamSizes;
        _firstBlock = firstBlock;
        _blocks = blocks;
    }

    public int BlockSize { get; }

    public uint BlockCount { get; }

    public int StreamCount => _streamSizes.Length;

    public long FileLength => _source.Length;

    /// <summary>Reads the superblock and the stream directory; null with the reason when they cannot be trusted.</summary>
    public static MsfFile? Open(ByteSource source, out string? problem)
    {
        problem = null;
        Span<byte> super = stackalloc byte[SuperBlockSize];
        if (!source.TryRead(0, super))
        {
            problem = $"the file is {source.Length} bytes, shorter than an MSF superblock ({SuperBlockSize})";
            return null;
        }

        if (!super.StartsWith(Magic))
        {
            problem = super.StartsWith(OldMagic[..32])
                ? "a PDB 2.0 file (JG format), which pelint does not read"
                : "not an MSF 7.00 file (no 'Microsoft C/C++ MSF 7.00' signature)";
            return null;
        }

        var blockSize = BinaryPrimitives.ReadUInt32LittleEndian(super[32..]);
        var blockCount = BinaryPrimitives.ReadUInt32LittleEndian(super[40..]);
        var directoryBytes = BinaryPrimitives.ReadUInt32LittleEndian(super[44..]);
        var blockMapAddress = BinaryPrimitives.ReadUInt32LittleEndian(super[52..]);
        if (blockSize is < 512 or > 65536 || !uint.IsPow2(blockSize))
        {
            problem = $"block size {blockSize} is not a power of two from 512 to 65,536";
            return null;
        }

        if (directoryBytes < 4 || directoryBytes > source.Length)
        {
            problem = $"the stream directory's size ({directoryBytes} bytes) does not fit the file ({source.Length} bytes)";
            return null;
        }

        // The directory's blocks are listed in block-map blocks, whose indices follow the
        // superblock's fields in block 0 (one of them for any directory up to BlockSize^2/4 bytes).
        var directoryBlocks = (int)((directoryBytes + blockSize - 1) / blockSize);
        var mapBlocks = (int)((((long)directoryBlocks * 4) + blockSize - 1) / blockSize);
        if (52 + ((long)mapBlocks * 4) > blockSize)
        {
            problem = $"the stream directory ({directoryBytes} bytes) needs {mapBlocks} block-map blocks, more than the superblock lists";
            return null;
        }

        var mapIndices = new byte[mapBlocks * 4];
        var map = new byte[directoryBlocks * 4];
        if (!source.TryRead(52, mapIndices))
        {
            problem = "the superblock's block-map list is outside the file";
            return null;
        }

        for (var i = 0; i < mapBlocks; i++)
        {
            var block = BinaryPrimitives.ReadUInt32LittleEndian(mapIndices.AsSpan(i * 4));
            var start = i * (int)blockSize;
            if (!TryReadBlock(source, (int)blockSize, blockCount, block, 0, map.AsSpan(start, Math.Min((int)blockSize, map.Length - start))))
            {
                problem = $"the directory's block map (block {block}) is outside the file";
                return null;
            }
        }

        var directory = new byte[directoryBytes];
        for (var i = 0; i < directoryBlocks; i++)
        {
            var block = BinaryPrimitives.ReadUInt32LittleEndian(map.AsSpan(i * 4));
            var start = i * (int)blockSize;
            if (!TryReadBlock(source, (int)blockSize, blockCount, block, 0, directory.AsSpan(start, Math.Min((int)blockSize, directory.Length - start))))
            {
                problem = $"block {block} of the stream directory is outside the file";
                return null;
            }
        }

        return ParseDirectory(source, (int)blockSize, blockCount, directory, out problem);
    }

    private static MsfFile? ParseDirectory(ByteSource source, int blockSize, uint blockCount, byte[] directory, out string? problem)
    {
        problem = null;
        var words = directory.Length / 4;
        var streamCount = BinaryPrimitives.ReadUInt32LittleEndian(directory);
        if (streamCount > (uint)(words - 1))
        {
            problem = $"the stream directory declares {streamCount} streams, more than its {directory.Length} bytes can list";
            return null;
        }

        var sizes = new uint[streamCount];
        var first = new int[streamCount];
        var next = 1 + (int)streamCount; // the word where the first stream's block list starts
        long listed = 0;
        for (var i = 0; i < sizes.Length; i++)
        {
            var size = BinaryPrimitives.ReadUInt32LittleEndian(directory.AsSpan(4 + (i * 4)));
            sizes[i] = size == uint.MaxValue ? 0 : size; // a deleted (nil) stream
            if (sizes[i] > source.Length)
            {
                problem = $"stream {i} declares {size} bytes, more than the whole file ({source.Length})";
                return null;
            }

            first[i] = (int)Math.Min(next + listed, int.MaxValue);
            listed += (sizes[i] + (long)blockSize - 1) / blockSize;
        }

        if (next + listed > words)
        {
            problem = $"the stream directory lists {listed} blocks for its {streamCount} streams but holds {words - next}";
            return null;
        }

        var blocks = new uint[listed];
        for (var i = 0; i < blocks.Length; i++)
        {
            blocks[i] = BinaryPrimitives.ReadUInt32LittleEndian(directory.AsSpan((next + i) * 4));
        }

        for (var i = 0; i < first.Length; i++)
        {
            first[i] -= next;
        }

        return new MsfFile(source, blockSize, blockCount, sizes, first, blocks);
    }

    /// <summary>The stream's size in bytes (0 for a missing or nil stream).</summary>
    public long StreamSize(int stream) => (uint)stream < (uint)_streamSizes.Length ? _streamSizes[stream] : 0;

    public bool HasStream(int stream) => (uint)stream < (uint)_streamSizes.Length;

    /// <summary>Reads bytes of a stream at an offset; false when the range is outside the stream or a block outside the file.</summary>
    public bool TryRead(int stream, long offset, Span<byte> buffer)
    {
        if (!HasStream(stream) || offset < 0 || offset > _streamSizes[stream] || buffer.Length > _streamSizes[stream] - offset)
        {
            return false;
        }

        while (!buffer.IsEmpty)
        {
            var index = (int)(offset / BlockSize);
            var within = (int)(offset % BlockSize);
            var count = Math.Min(buffer.Length, BlockSize - within);
            if (!TryReadBlock(_blocks[_firstBlock[stream] + index], within, buffer[..count]))
            {
                return false;
            }

            buffer = buffer[count..];
            offset += count;
        }

        return true;
    }

    /// <summary>A whole stream, when it is at most <paramref name="maxSize"/> bytes and every block can be read.</summary>
    public byte[]? ReadStream(int stream, int maxSize)
    {
        var size = StreamSize(stream);
        if (!HasStream(stream) || size > maxSize)
        {
            return null;
        }

        var bytes = new byte[size];
        return TryRead(stream, 0, bytes) ? bytes : null;
    }

    private bool TryReadBlock(uint block, int within, Span<byte> buffer) => TryReadBlock(_source, BlockSize, BlockCount, block, within, buffer);

    private static bool TryReadBlock(ByteSource source, int blockSize, uint blockCount, uint block, int within, Span<byte> buffer) =>
        block < blockCount && source.TryRead(((long)block * blockSize) + within, buffer);
}
