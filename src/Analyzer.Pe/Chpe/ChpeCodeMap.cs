using System.Buffers.Binary;
using System.Reflection.PortableExecutable;
using Pelint.Pe.LoadConfig;

namespace Pelint.Pe.Chpe;

/// <summary>
/// The CHPE code range map of an ARM64EC/ARM64X image (load config CHPEMetadataPointer): which
/// RVA ranges hold ARM64 code and which x64. Entries in ARM64 ranges use the ARM64 .pdata format.
/// </summary>
internal sealed class ChpeCodeMap
{
    private const int MaxRanges = 65536;
    private readonly List<(uint Start, uint End, int Type)> _ranges;

    private ChpeCodeMap(List<(uint, uint, int)> ranges) => _ranges = ranges;

    /// <summary>True when the RVA lies in an AMD64 range (type 2) of the map.</summary>
    public bool IsAmd64(uint rva)
    {
        foreach (var (start, end, type) in _ranges)
        {
            if (rva >= start && rva < end)
            {
                return type == 2;
            }
        }

        return false;
    }

    public static ChpeCodeMap? Read(PeImage image)
    {
        if (image.Machine != Machine.Amd64 || LoadConfigDirectory.ToRva(image, image.LoadConfig.CHPEMetadataPointer) is not { } metadata || metadata == 0)
        {
            return null;
        }

        // IMAGE_ARM64EC_METADATA: Version, CodeMap (RVA), CodeMapCount, ...
        Span<byte> scratch = stackalloc byte[12];
        var ranges = new List<(uint, uint, int)>();
        using var reader = image.OpenReader();
        if (reader.TryRead(metadata, 12, scratch, out var header))
        {
            var map = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            var count = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(header[8..]), MaxRanges);
            var entries = reader.GetAvailableSpan(map, count * 8);
            for (var i = 0; i + 8 <= entries.Length; i += 8)
            {
                var startOffset = BinaryPrimitives.ReadUInt32LittleEndian(entries[i..]);
                var length = BinaryPrimitives.ReadUInt32LittleEndian(entries[(i + 4)..]);
                var start = startOffset & ~3u;
                ranges.Add((start, (uint)Math.Min((ulong)start + length, uint.MaxValue), (int)(startOffset & 3)));
            }
        }

        return new ChpeCodeMap(ranges);
    }
}
