using Pelint.Pe.Headers;

namespace Pelint.Pe.IO;

/// <summary>
/// Maps RVAs to file bytes the way the loader lays the image out: headers at RVA 0, each
/// section at its VirtualAddress for VirtualSize bytes, of which only the first SizeOfRawData
/// come from the file (the rest reads as zero). Section tables can overlap or lie; the first
/// section that contains an RVA wins, as in the loader's own lookups. It only maps: reads go
/// through an <see cref="ImageReader"/>.
/// </summary>
public sealed class RvaMap
{
    // Zero-filled reads are for small structures only; large tables must be file-backed.
    public const int MaxZeroFilledRead = 64 * 1024;

    // An array, not an IReadOnlyList: every read looks a section up, and enumerating an
    // interface allocates an enumerator each time (hundreds of MB over a large image).
    private readonly SectionInfo[] _sections;
    private readonly uint _sizeOfHeaders;
    private readonly long _fileLength;
    private readonly uint _fileAlignment;

    public RvaMap(IReadOnlyList<SectionInfo> sections, uint sizeOfHeaders, uint sizeOfImage, uint fileAlignment, long fileLength)
    {
        _sections = [.. sections];
        _sizeOfHeaders = sizeOfHeaders;
        SizeOfImage = sizeOfImage;
        _fileAlignment = fileAlignment;
        _fileLength = fileLength;
    }

    public uint SizeOfImage { get; }

    public IReadOnlyList<SectionInfo> Sections => _sections;

    public SectionInfo? FindSection(uint rva)
    {
        var sections = _sections;
        for (var i = 0; i < sections.Length; i++)
        {
            if (sections[i].ContainsRva(rva))
            {
                return sections[i];
            }
        }

        return null;
    }

    public bool IsInImage(uint rva) => rva < SizeOfImage;

    /// <summary>True when [rva, rva+length) lies in one section (or the headers) and inside SizeOfImage.</summary>
    public bool IsMapped(uint rva, uint length)
    {
        if ((ulong)rva + length > SizeOfImage)
        {
            return false;
        }

        if (rva < _sizeOfHeaders && FindSection(rva) is null)
        {
            return (ulong)rva + length <= _sizeOfHeaders;
        }

        var s = FindSection(rva);
        return s is not null && (ulong)rva + length <= (ulong)s.VirtualAddress + s.MappedSize;
    }

    /// <summary>
    /// File offset of the byte at <paramref name="rva"/>, and how many bytes from there are
    /// backed by the file within the same section. False when the RVA is not file-backed.
    /// </summary>
    public bool TryGetFileOffset(uint rva, out long fileOffset, out long available)
    {
        fileOffset = 0;
        available = 0;
        var s = FindSection(rva);
        if (s is null)
        {
            if (rva < _sizeOfHeaders && rva < _fileLength)
            {
                fileOffset = rva;
                available = Math.Min(_sizeOfHeaders, _fileLength) - rva;
                return true;
            }

            return false;
        }

        var delta = rva - s.VirtualAddress;
        var rawStart = AlignedRawPointer(s);
        var rawSize = Math.Min((long)s.SizeOfRawData, (long)s.MappedSize);
        if (delta >= rawSize)
        {
            return false;
        }

        var offset = rawStart + delta;
        if (offset >= _fileLength)
        {
            return false;
        }

        fileOffset = offset;
        available = Math.Min(rawSize - delta, _fileLength - offset);
        return true;
    }

    /// <summary>
    /// As <see cref="TryGetFileOffset"/>, with how far the same mapping holds: every RVA in
    /// [rva, rva + <paramref name="sameMapping"/>) is found in the same section as
    /// <paramref name="rva"/> (or in the headers), so its bytes are the ones at
    /// <paramref name="fileOffset"/> plus its distance from <paramref name="rva"/>, and its
    /// available bytes are <paramref name="available"/> less that distance. Less than
    /// <paramref name="available"/> only where sections overlap.
    /// </summary>
    public bool TryGetFileRun(uint rva, out long fileOffset, out long available, out long sameMapping)
    {
        sameMapping = 0;
        if (!TryGetFileOffset(rva, out fileOffset, out available))
        {
            return false;
        }

        // A section listed before the one found that starts past rva wins from its start on.
        sameMapping = available;
        var sections = _sections;
        for (var i = 0; i < sections.Length && !sections[i].ContainsRva(rva); i++)
        {
            if (sections[i].VirtualAddress > rva && sections[i].MappedSize != 0)
            {
                sameMapping = Math.Min(sameMapping, sections[i].VirtualAddress - (long)rva);
            }
        }

        return true;
    }

    /// <summary>RVA of a file offset inside a section's raw data, if any.</summary>
    public bool TryGetRva(long fileOffset, out uint rva)
    {
        foreach (var s in _sections)
        {
            var rawStart = AlignedRawPointer(s);
            var rawSize = Math.Min((long)s.SizeOfRawData, (long)s.MappedSize);
            if (fileOffset >= rawStart && fileOffset < rawStart + rawSize)
            {
                rva = (uint)(s.VirtualAddress + (fileOffset - rawStart));
                return true;
            }
        }

        if (fileOffset < _sizeOfHeaders)
        {
            rva = (uint)fileOffset;
            return true;
        }

        rva = 0;
        return false;
    }

    // The loader rounds PointerToRawData down to 512 when the file alignment is at least that.
    private long AlignedRawPointer(SectionInfo s) =>
        _fileAlignment >= 0x200 ? s.PointerToRawData & ~0x1FFu : s.PointerToRawData;
}
