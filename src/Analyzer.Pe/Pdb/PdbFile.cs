using System.Buffers.Binary;
using Pelint.Pe.Debug;
using Pelint.Pe.Headers;
using Pelint.Pe.IO;

namespace Pelint.Pe.Pdb;

/// <summary>What names a PDB: the GUID and age its info stream records (and the image's CodeView record repeats).</summary>
public readonly record struct PdbIdentity(Guid UniqueId, uint Age)
{
    public bool Matches(CodeViewRecord record) => record is not null && record.UniqueId == UniqueId && record.Age == Age;

    public override string ToString() => $"{{{UniqueId.ToString().ToUpperInvariant()}}} age {Age}";
}

/// <summary>A PDB opened for its public symbols, or why it could not be.</summary>
public sealed record PdbOpenResult(PdbFile? File, string? Problem);

/// <summary>
/// A program database read for what names functions: the PDB info stream (GUID, age), the DBI
/// stream's header (which streams hold the symbol records and the section headers, and whether
/// the addresses were rearranged after linking) and the S_PUB32 records of the symbol record
/// stream. The file is read through bounded positional reads (<see cref="MsfFile"/>); it is
/// hostile input like the image.
/// </summary>
public sealed class PdbFile : IDisposable
{
    /// <summary>Public symbols kept at most; a PDB with more is read this far and says so.</summary>
    public const int MaxPublics = 1 << 22;

    private const int InfoStream = 1;
    private const int DbiStream = 3;
    private const int DbiHeaderSize = 64;
    private const ushort NoStream = 0xFFFF;
    private const int OmapFromSourceSlot = 4;
    private const int SectionHeadersSlot = 5;
    private const ushort SPub32 = 0x110E;
    private const int MaxNameBytes = 4096;
    private const int MaxSections = 65_535;

    private readonly ByteSource _source;
    private readonly MsfFile _msf;
    private readonly ushort _symbolRecordStream;
    private readonly ushort _sectionHeaderStream;

    private PdbFile(ByteSource source, MsfFile msf, PdbIdentity identity, ushort symbolRecordStream, ushort sectionHeaderStream, bool hasOmap)
    {
        _source = source;
        _msf = msf;
        Identity = identity;
        _symbolRecordStream = symbolRecordStream;
        _sectionHeaderStream = sectionHeaderStream;
        HasOmap = hasOmap;
    }

    public PdbIdentity Identity { get; }

    /// <summary>
    /// Whether the PDB's addresses are those before a post-link optimizer rearranged the code
    /// (an OMAP stream is present): its symbols' sections and offsets then do not name this image's bytes.
    /// </summary>
    public bool HasOmap { get; }

    public long FileLength => _source.Length;

    /// <summary>Opens a PDB file (a regular file only); never throws for what the file holds.</summary>
    public static PdbOpenResult Open(string path)
    {
        FileStream stream;
        try
        {
            stream = HostFiles.OpenRegular(path, bufferSize: 1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return new PdbOpenResult(null, $"cannot be read: {e.Message}");
        }

        long length;
        try
        {
            length = RandomAccess.GetLength(stream.SafeFileHandle);
        }
        catch (IOException e)
        {
            stream.Dispose();
            return new PdbOpenResult(null, $"cannot be read: {e.Message}");
        }

        return Open(new FileByteSource(stream, length));
    }

    /// <summary>Reads a PDB held in memory.</summary>
    public static PdbOpenResult Load(ReadOnlyMemory<byte> bytes) => Open(new MemoryByteSource(bytes));

    internal static PdbOpenResult Open(ByteSource source)
    {
        var pdb = Read(source, out var problem);
        if (pdb is null)
        {
            source.Dispose();
        }

        return new PdbOpenResult(pdb, problem);
    }

    private static PdbFile? Read(ByteSource source, out string? problem)
    {
        var msf = MsfFile.Open(source, out problem);
        if (msf is null)
        {
            return null;
        }

        // PDB info stream: Version, Signature, Age, GUID.
        Span<byte> info = stackalloc byte[28];
        if (!msf.TryRead(InfoStream, 0, info))
        {
            problem = $"the PDB info stream is missing or shorter than 28 bytes ({msf.StreamSize(InfoStream)})";
            return null;
        }

        var identity = new PdbIdentity(new Guid(info.Slice(12, 16)), BinaryPrimitives.ReadUInt32LittleEndian(info[8..]));

        Span<byte> dbi = stackalloc byte[DbiHeaderSize];
        if (!msf.TryRead(DbiStream, 0, dbi))
        {
            problem = $"the DBI stream is missing or shorter than its {DbiHeaderSize}-byte header ({msf.StreamSize(DbiStream)})";
            return null;
        }

        if (BinaryPrimitives.ReadInt32LittleEndian(dbi) != -1)
        {
            problem = "the DBI stream has an old header format (no version signature -1)";
            return null;
        }

        var symbolRecords = BinaryPrimitives.ReadUInt16LittleEndian(dbi[20..]);

        // The optional debug header (stream indices: FPO, exception, fixup, OMAP to/from source,
        // section headers, ...) follows the six substreams whose sizes the header gives.
        long optionalAt = DbiHeaderSize;
        foreach (var at in (ReadOnlySpan<int>)[24, 28, 32, 36, 40, 52])
        {
            var size = BinaryPrimitives.ReadInt32LittleEndian(dbi[at..]);
            if (size < 0)
            {
                problem = $"the DBI header gives a substream a negative size ({size})";
                return null;
            }

            optionalAt += size;
        }

        var optionalSize = BinaryPrimitives.ReadInt32LittleEndian(dbi[48..]);
        var slots = Math.Clamp(optionalSize / 2, 0, 16);
        var omap = SlotStream(msf, optionalAt, slots, OmapFromSourceSlot);
        var sections = SlotStream(msf, optionalAt, slots, SectionHeadersSlot);
        var hasOmap = omap != NoStream && msf.StreamSize(omap) > 0;
        return new PdbFile(source, msf, identity, symbolRecords, sections, hasOmap);
    }

    // The stream named in one slot of the DBI's optional debug header, or NoStream.
    private static ushort SlotStream(MsfFile msf, long optionalAt, int slots, int slot)
    {
        Span<byte> index = stackalloc byte[2];
        return slot < slots && msf.TryRead(DbiStream, optionalAt + (slot * 2), index) ? BinaryPrimitives.ReadUInt16LittleEndian(index) : NoStream;
    }

    /// <summary>
    /// The S_PUB32 public symbols with their RVAs: section:offset through the PDB's section
    /// headers stream, or <paramref name="imageSections"/> when the PDB has none. Symbols outside
    /// every section are left out.
    /// </summary>
    public PdbPublics ReadPublics(IReadOnlyList<SectionInfo> imageSections, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(imageSections);
        var sections = SectionsForAddresses(imageSections);
        var publics = new List<PdbPublicSymbol>();
        var stream = (int)_symbolRecordStream;
        var size = _msf.StreamSize(stream);
        if (_symbolRecordStream == NoStream || !_msf.HasStream(stream))
        {
            return new PdbPublics(publics, "the DBI stream names no symbol record stream");
        }

        // Records are read through a window that holds the longest record (2 + 65,535 bytes).
        var window = new byte[(int)Math.Min(size, 1 << 17)];
        long windowStart = 0;
        var windowLength = 0;
        bool Ensure(long at, int count)
        {
            if (at >= windowStart && at + count <= windowStart + windowLength)
            {
                return true;
            }

            windowStart = at;
            windowLength = (int)Math.Min(window.Length, size - at);
            return count <= windowLength && _msf.TryRead(stream, at, window.AsSpan(0, windowLength));
        }

        long position = 0;
        string? problem = null;
        var records = 0;
        while (position + 4 <= size)
        {
            if ((++records & 0xFFF) == 0)
            {
                cancellation.ThrowIfCancellationRequested();
            }

            if (!Ensure(position, 4))
            {
                problem = $"the symbol record stream cannot be read at offset {position}";
                break;
            }

            var header = window.AsSpan((int)(position - windowStart), 4);
            var length = BinaryPrimitives.ReadUInt16LittleEndian(header);
            var kind = BinaryPrimitives.ReadUInt16LittleEndian(header[2..]);
            if (length < 2)
            {
                problem = $"a symbol record at offset {position} has length {length}";
                break;
            }

            var total = 2 + length;
            if (position + total > size || !Ensure(position, total))
            {
                problem = $"the symbol record at offset {position} ({total} bytes) runs past the stream's {size} bytes";
                break;
            }

            if (kind == SPub32 && ParsePublic(window.AsSpan((int)(position - windowStart), total), sections) is { } symbol)
            {
                if (publics.Count == MaxPublics)
                {
                    problem = $"more than {MaxPublics:N0} public symbols; the rest were not read";
                    break;
                }

                publics.Add(symbol);
            }

            position += total;
        }

        return new PdbPublics(publics, problem);
    }

    // S_PUB32: length, kind, flags (4), offset (4), segment (2), NUL-terminated name.
    private static PdbPublicSymbol? ParsePublic(ReadOnlySpan<byte> record, List<(uint Rva, uint Size)> sections)
    {
        if (record.Length < 15)
        {
            return null;
        }

        var flags = (PublicSymbolFlags)BinaryPrimitives.ReadUInt32LittleEndian(record[4..]);
        var offset = BinaryPrimitives.ReadUInt32LittleEndian(record[8..]);
        var segment = BinaryPrimitives.ReadUInt16LittleEndian(record[12..]);
        var name = record[14..];
        var end = name.IndexOf((byte)0);
        name = end < 0 ? name : name[..end];
        if (name.IsEmpty || segment == 0 || segment > sections.Count)
        {
            return null;
        }

        var (rva, sectionSize) = sections[segment - 1];
        if (offset >= sectionSize || (ulong)rva + offset > uint.MaxValue)
        {
            return null;
        }

        if (name.Length > MaxNameBytes)
        {
            name = name[..MaxNameBytes];
        }

        return new PdbPublicSymbol(rva + offset, System.Text.Encoding.UTF8.GetString(name), flags);
    }

    // Each section's RVA and size in memory, 1-based segments mapping to index - 1.
    private List<(uint Rva, uint Size)> SectionsForAddresses(IReadOnlyList<SectionInfo> imageSections)
    {
        var size = _msf.StreamSize(_sectionHeaderStream);
        if (_sectionHeaderStream != NoStream && size >= SectionInfo.HeaderSize && size <= (long)SectionInfo.HeaderSize * MaxSections
            && _msf.ReadStream(_sectionHeaderStream, (int)size) is { } headers)
        {
            var list = new List<(uint, uint)>(headers.Length / SectionInfo.HeaderSize);
            for (var at = 0; at + SectionInfo.HeaderSize <= headers.Length; at += SectionInfo.HeaderSize)
            {
                var virtualSize = BinaryPrimitives.ReadUInt32LittleEndian(headers.AsSpan(at + 8));
                var address = BinaryPrimitives.ReadUInt32LittleEndian(headers.AsSpan(at + 12));
                var rawSize = BinaryPrimitives.ReadUInt32LittleEndian(headers.AsSpan(at + 16));
                list.Add((address, virtualSize != 0 ? virtualSize : rawSize));
            }

            return list;
        }

        return [.. imageSections.Select(s => (s.VirtualAddress, s.MappedSize))];
    }

    public void Dispose() => _source.Dispose();
}

/// <summary>S_PUB32 flags (CV_PUBSYMFLAGS).</summary>
[Flags]
public enum PublicSymbolFlags : uint
{
    None = 0,
    Code = 1,
    Function = 2,
    Managed = 4,
    Msil = 8,
}

/// <summary>One public symbol: its RVA and its (decorated) name.</summary>
public readonly record struct PdbPublicSymbol(uint Rva, string Name, PublicSymbolFlags Flags);

/// <summary>The public symbols read from a PDB, and what stopped the reading early, if anything.</summary>
public sealed record PdbPublics(IReadOnlyList<PdbPublicSymbol> Symbols, string? Problem);
