using System.Collections;

namespace Pelint.Pe.Exceptions;

/// <summary>
/// Version 2 epilog codes: the first UWOP_EPILOG gives the size of every epilog and, with
/// OpInfo bit 0, says one ends the function; each further code gives an epilog's offset back
/// from the function's end (offset 0 = padding). A view of its record in an <see cref="UnwindTable"/>.
/// </summary>
public readonly struct V2EpilogCodes
{
    private readonly UnwindTable _table;
    private readonly int _index;

    internal V2EpilogCodes(UnwindTable table, int index)
    {
        _table = table;
        _index = index;
    }

    public int Size => _table.RecordAt(_index).EpilogSize;

    public bool AtEnd => (_table.RecordAt(_index).State & UnwindTable.Record.EpilogAtEnd) != 0;

    /// <summary>The epilogs' offsets back from the function's end, padding codes left out.</summary>
    public ReadOnlySpan<int> OffsetsFromEnd => _table.EpilogOffsetsOf(_table.RecordAt(_index));

    public int PaddingCodes => _table.RecordAt(_index).EpilogPadding;

    /// <summary>Epilog start RVAs for a function with this unwind info (it can be shared).</summary>
    public EpilogStarts StartsFor(RuntimeFunction function) => new(this, function.EndAddress);

    /// <summary>The epilog starts of one function: the one at the end (if any), then one per offset; foreach allocates nothing.</summary>
    public readonly struct EpilogStarts(V2EpilogCodes codes, uint functionEnd) : IEnumerable<uint>
    {
        public Enumerator GetEnumerator() => new(codes, functionEnd);

        IEnumerator<uint> IEnumerable<uint>.GetEnumerator() => GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public struct Enumerator(V2EpilogCodes codes, uint functionEnd) : IEnumerator<uint>
        {
            // -1: the epilog at the end (when AtEnd); 0...: the offsets.
            private int _next = codes.AtEnd ? -1 : 0;

            public uint Current { get; private set; }

            readonly object IEnumerator.Current => Current;

            public bool MoveNext()
            {
                if (_next == -1)
                {
                    Current = functionEnd - (uint)codes.Size;
                    _next = 0;
                    return true;
                }

                var offsets = codes.OffsetsFromEnd;
                if (_next < offsets.Length)
                {
                    Current = functionEnd - (uint)offsets[_next++];
                    return true;
                }

                return false;
            }

            public void Reset() => throw new NotSupportedException();

            public readonly void Dispose()
            {
            }
        }
    }
}

/// <summary>
/// UNWIND_INFO, decoded per Microsoft's "x64 exception handling": byte 0 = Version (low 3 bits)
/// | Flags &lt;&lt; 3; byte 1 SizeOfProlog; byte 2 CountOfCodes; byte 3 FrameRegister (low
/// nibble) | FrameOffset (high nibble, times 16); the code array padded to an even count; then a
/// handler RVA and its data, or one chained RUNTIME_FUNCTION. A view of one record of an
/// <see cref="UnwindTable"/> (16 bytes, no allocation); two views are equal when they show the
/// same record.
/// </summary>
public readonly struct UnwindInfo : IEquatable<UnwindInfo>
{
    public const int HeaderSize = 4;

    private readonly UnwindTable _table;
    private readonly int _index;

    internal UnwindInfo(UnwindTable table, int index)
    {
        _table = table;
        _index = index;
    }

    /// <summary>The table the record is in.</summary>
    public UnwindTable Table => _table;

    /// <summary>The record's index in its <see cref="Table"/>: a key for caches of what is derived from it.</summary>
    public int Index => _index;

    public uint Rva => Record.Rva;

    public byte Version => (byte)(Record.VersionAndFlags & 7);

    public UnwindFlags Flags => (UnwindFlags)(Record.VersionAndFlags >> 3);

    public byte SizeOfProlog => Record.SizeOfProlog;

    public byte CountOfCodes => Record.CountOfCodes;

    public byte FrameRegister => (byte)(Record.Frame & 0xF);

    /// <summary>The frame register's offset from rsp in bytes (the nibble times 16).</summary>
    public int FrameOffset => (Record.Frame >> 4) * 16;

    /// <summary>The decoded prolog codes in file order (version 2 epilog codes left out; see <see cref="Epilogs"/>).</summary>
    public ReadOnlySpan<UnwindCode> Codes => _table.CodesOf(Record);

    public V2EpilogCodes? Epilogs => (Record.State & UnwindTable.Record.HasEpilogs) != 0 ? new V2EpilogCodes(_table, _index) : null;

    public uint? HandlerRva => (Record.State & UnwindTable.Record.HasHandlerRva) != 0 ? Record.Tail0 : null;

    /// <summary>The language-specific data right after the handler RVA.</summary>
    public uint? LanguageDataRva => (Record.State & UnwindTable.Record.HasHandlerRva) != 0 ? Rva + (uint)CodeArrayEnd + 4 : null;

    /// <summary>The chained RUNTIME_FUNCTION (Index -1: it is a copy inside the UNWIND_INFO, not an entry of the directory).</summary>
    public RuntimeFunction? Chained
    {
        get
        {
            ref readonly var r = ref Record;
            if ((r.State & UnwindTable.Record.HasChained) == 0)
            {
                return null;
            }

            var tail = Rva + (uint)CodeArrayEnd;
            return new RuntimeFunction(-1, r.Tail0, r.Tail1, r.Tail2, _table.Map.TryGetFileOffset(tail, out var offset, out _) ? offset : -1);
        }
    }

    /// <summary>What the decoder could not accept; empty for a sound record.</summary>
    public ReadOnlySpan<PeProblem> Problems => _table.ProblemsOf(Record);

    /// <summary>Whether the record's codes, handler and chain were decoded: versions 1 and 2 (version 3, APX, is valid but not decoded).</summary>
    public bool IsDecoded => Version is 1 or 2;

    public bool HasHandler => IsDecoded && (Flags & (UnwindFlags.EHandler | UnwindFlags.UHandler)) != 0 && (Flags & UnwindFlags.ChainInfo) == 0;

    /// <summary>A chained record (CHAININFO) of a decoded version; version 3 lays its chain out in a payload not decoded here.</summary>
    public bool IsChained => IsDecoded && (Flags & UnwindFlags.ChainInfo) != 0;

    /// <summary>Bytes from the header to the end of the code array (padded to an even count).</summary>
    public int CodeArrayEnd => HeaderSize + (((CountOfCodes + 1) & ~1) * 2);

    /// <summary>Whether the header is inside the image's sections (else nothing was decoded and <see cref="Problems"/> says so).</summary>
    internal bool HeaderMapped => (Record.State & UnwindTable.Record.HeaderRead) != 0;

    private ref readonly UnwindTable.Record Record => ref _table.RecordAt(_index);

    public static UnwindInfo Read(PeImage image, uint rva)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var reader = image.OpenReader();
        return Read(reader, rva);
    }

    /// <summary>The record at <paramref name="rva"/>, decoded into a table of its own (tests, single lookups).</summary>
    public static UnwindInfo Read(IO.ImageReader reader, uint rva)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var table = new UnwindTable(reader.Map);
        return table[table.Decode(reader, rva)];
    }

    public bool Equals(UnwindInfo other) => ReferenceEquals(_table, other._table) && _index == other._index;

    public override bool Equals(object? obj) => obj is UnwindInfo other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_table, _index);

    public static bool operator ==(UnwindInfo left, UnwindInfo right) => left.Equals(right);

    public static bool operator !=(UnwindInfo left, UnwindInfo right) => !left.Equals(right);
}
