using System.Buffers.Binary;
using System.Reflection.PortableExecutable;
using Pelint.Pe.LoadConfig;

namespace Pelint.Pe.Chpe;

/// <summary>What a range of the CHPE code map holds (the low two bits of its start).</summary>
public enum ChpeRangeKind
{
    Arm64 = 0,
    Arm64EC = 1,
    Amd64 = 2,

    /// <summary>Type 3 is not defined.</summary>
    Unknown = 3,
}

/// <summary>One range of the CHPE code map: [Start, End) holds code of one kind.</summary>
public readonly record struct ChpeCodeRange(uint Start, uint End, ChpeRangeKind Kind)
{
    public bool Contains(uint rva) => rva >= Start && rva < End;

    /// <summary>Whether functions in this range use the ARM64 unwind format (native ARM64 and ARM64EC code).</summary>
    public bool IsArm64Format => Kind is ChpeRangeKind.Arm64 or ChpeRangeKind.Arm64EC;
}

/// <summary>
/// The CHPE metadata of an ARM64EC image (x64 header) or ARM64X image (ARM64 header), reached
/// through the load config's CHPEMetadataPointer (IMAGE_ARM64EC_METADATA): the code range map,
/// which says which RVA ranges hold ARM64, ARM64EC and x64 code, and the "extra" function table
/// (ExtraRFETable), which holds the entries of the other format than the exception directory:
/// the ARM64 ones in an ARM64EC image, the x64 ones in an ARM64X image's native view.
/// </summary>
public sealed class ChpeCodeMap
{
    /// <summary>Byte offset of CodeMap and CodeMapCount in IMAGE_ARM64EC_METADATA.</summary>
    private const int CodeMapOffset = 4;

    /// <summary>Byte offset of ExtraRFETable and ExtraRFETableSize.</summary>
    private const int ExtraRfeTableOffset = 64;

    private const int MaxRanges = 65536;
    private readonly ChpeCodeRange[] _ranges;

    // The ARM64EC ranges by start, with the furthest end reached up to each: a membership
    // question per function costs a binary search even when a hostile map declares 65,536
    // overlapping ranges.
    private readonly uint[] _ecStarts;
    private readonly uint[] _ecReach;

    private ChpeCodeMap(uint metadataRva, ChpeCodeRange[] ranges, uint extraTableRva, uint extraTableSize)
    {
        MetadataRva = metadataRva;
        _ranges = ranges;
        Ranges = ranges;
        ExtraTableRva = extraTableRva;
        ExtraTableSize = extraTableSize;
        var ec = ranges.Where(r => r.Kind == ChpeRangeKind.Arm64EC && r.End > r.Start).OrderBy(r => r.Start).ToArray();
        _ecStarts = new uint[ec.Length];
        _ecReach = new uint[ec.Length];
        uint reach = 0;
        for (var i = 0; i < ec.Length; i++)
        {
            _ecStarts[i] = ec[i].Start;
            _ecReach[i] = reach = Math.Max(reach, ec[i].End);
        }
    }

    public uint MetadataRva { get; }

    /// <summary>The ranges in file order.</summary>
    public IReadOnlyList<ChpeCodeRange> Ranges { get; }

    /// <summary>RVA of the extra function table (0 when the metadata is too short to name one).</summary>
    public uint ExtraTableRva { get; }

    public uint ExtraTableSize { get; }

    /// <summary>The range holding an RVA, if any.</summary>
    public ChpeCodeRange? RangeOf(uint rva)
    {
        foreach (var range in _ranges)
        {
            if (range.Contains(rva))
            {
                return range;
            }
        }

        return null;
    }

    /// <summary>True when the RVA lies in an ARM64EC range (type 1) of the map.</summary>
    public bool IsArm64EC(uint rva)
    {
        // Count the ranges starting at or before rva; one of them holds rva iff the furthest reach among them passes it.
        int lo = 0, hi = _ecStarts.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_ecStarts[mid] <= rva)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo > 0 && _ecReach[lo - 1] > rva;
    }

    /// <summary>True when the RVA lies in an AMD64 range (type 2) of the map.</summary>
    public bool IsAmd64(uint rva) => RangeOf(rva) is { Kind: ChpeRangeKind.Amd64 };

    /// <summary>The map of an x64 (ARM64EC) or ARM64 (ARM64X) image whose load config names CHPE metadata, else null.</summary>
    public static ChpeCodeMap? Read(PeImage image)
    {
        if (image.Machine is not (Machine.Amd64 or Machine.Arm64) || LoadConfigDirectory.ToRva(image, image.LoadConfig.CHPEMetadataPointer) is not { } metadata || metadata == 0)
        {
            return null;
        }

        var ranges = new List<ChpeCodeRange>();
        Span<byte> scratch = stackalloc byte[ExtraRfeTableOffset + 8];
        using var reader = image.OpenReader();
        // Copied out: the reader's spans last until its next read, and the table is read next.
        var available = reader.GetAvailableSpan(metadata, scratch.Length);
        available.CopyTo(scratch);
        ReadOnlySpan<byte> header = scratch[..available.Length];
        if (header.Length >= CodeMapOffset + 8)
        {
            var map = BinaryPrimitives.ReadUInt32LittleEndian(header[CodeMapOffset..]);
            var count = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(header[(CodeMapOffset + 4)..]), MaxRanges);
            var entries = reader.GetAvailableSpan(map, count * 8);
            for (var i = 0; i + 8 <= entries.Length; i += 8)
            {
                var startOffset = BinaryPrimitives.ReadUInt32LittleEndian(entries[i..]);
                var length = BinaryPrimitives.ReadUInt32LittleEndian(entries[(i + 4)..]);
                var start = startOffset & ~3u;
                ranges.Add(new ChpeCodeRange(start, (uint)Math.Min((ulong)start + length, uint.MaxValue), (ChpeRangeKind)(startOffset & 3)));
            }
        }

        uint extra = 0, extraSize = 0;
        if (header.Length >= ExtraRfeTableOffset + 8)
        {
            extra = BinaryPrimitives.ReadUInt32LittleEndian(header[ExtraRfeTableOffset..]);
            extraSize = BinaryPrimitives.ReadUInt32LittleEndian(header[(ExtraRfeTableOffset + 4)..]);
        }

        return new ChpeCodeMap(metadata, [.. ranges], extra, extraSize);
    }
}
