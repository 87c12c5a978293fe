using System.Buffers.Binary;
using System.Text;

namespace Pelint.Pe.Debug;

/// <summary>
/// The CodeView debug record of type RSDS (PDB 7.00): the GUID and age that name the one PDB
/// written with this image, and the PDB's path as the linker recorded it (often a path on the
/// build machine, or just the file name with <c>/PDBALTPATH:%_PDB%</c>).
/// </summary>
public sealed record CodeViewRecord(Guid UniqueId, uint Age, string PdbPath)
{
    public const uint RsdsSignature = 0x53445352; // "RSDS"
    public const int HeaderSize = 24;

    /// <summary>Longest recorded path kept; a longer one is cut here (Windows paths end far sooner).</summary>
    public const int MaxPathBytes = 4096;

    /// <summary>The PDB's file name alone (the recorded path may use either separator).</summary>
    public string PdbFileName
    {
        get
        {
            var cut = PdbPath.LastIndexOfAny(['\\', '/', ':']);
            return cut < 0 ? PdbPath : PdbPath[(cut + 1)..];
        }
    }

    /// <summary>The folder name a symbol store gives this PDB: the GUID's 32 hex digits, then the age in hex.</summary>
    public string SymbolStoreKey => $"{UniqueId.ToString("N").ToUpperInvariant()}{Age:X}";

    /// <summary>Reads an RSDS record from the debug entry's data; null for another signature (NB10, ...) or a short record.</summary>
    public static CodeViewRecord? TryParse(ReadOnlySpan<byte> data)
    {
        if (data.Length < HeaderSize || BinaryPrimitives.ReadUInt32LittleEndian(data) != RsdsSignature)
        {
            return null;
        }

        var guid = new Guid(data.Slice(4, 16));
        var age = BinaryPrimitives.ReadUInt32LittleEndian(data[20..]);
        var path = data[HeaderSize..];
        if (path.Length > MaxPathBytes)
        {
            path = path[..MaxPathBytes];
        }

        var end = path.IndexOf((byte)0);
        return new CodeViewRecord(guid, age, Encoding.UTF8.GetString(end < 0 ? path : path[..end]));
    }
}
