using System.Buffers.Binary;
using Pelint.Pe.IO;

namespace Pelint.Pe.Exceptions;

/// <summary>
/// Decoded UNWIND_INFO records as struct arrays: one fixed-size record each, every record's codes
/// a slice of shared <see cref="UnwindCode"/> arrays (chunks of 64K codes, so the table grows
/// without copying what it holds), version 2 epilog offsets a slice of one shared int array,
/// problems (rare) a slice of one shared list. An image's records are decoded
/// once into one table and read through <see cref="UnwindInfo"/> views, so 200,000 functions cost
/// a few MB and no object each. Decoding follows Microsoft's "x64 exception handling" strictly: an
/// unknown or truncated operation stops it with a problem, never a guess. Append-only while it is
/// built (<see cref="Decode"/>), read-only after; the directory builds its table on one thread.
/// </summary>
public sealed class UnwindTable
{
    // A record's codes never straddle two chunks: a chunk with no room for 255 more is closed.
    private const int ChunkBits = 16;
    private const int ChunkSize = 1 << ChunkBits;

    private readonly List<UnwindCode[]> _codes = [];
    private Record[] _records;
    private int[] _epilogOffsets = new int[16];
    private readonly List<PeProblem> _problems = [];
    private int _codeCount; // in the last chunk
    private int _epilogCount;

    /// <summary>An empty table; <paramref name="capacity"/> records are allocated up front.</summary>
    public UnwindTable(RvaMap map, int capacity = 1)
    {
        Map = map;
        _records = new Record[Math.Max(capacity, 1)];
    }

    /// <summary>Records in the table.</summary>
    public int Count { get; private set; }

    internal RvaMap Map { get; }

    public UnwindInfo this[int index] => (uint)index < (uint)Count ? new UnwindInfo(this, index) : throw new ArgumentOutOfRangeException(nameof(index));

    internal ref readonly Record RecordAt(int index) => ref _records[index];

    internal ReadOnlySpan<UnwindCode> CodesOf(in Record record) =>
        record.CodeCount == 0 ? default : _codes[record.CodeStart >> ChunkBits].AsSpan(record.CodeStart & (ChunkSize - 1), record.CodeCount);

    internal ReadOnlySpan<int> EpilogOffsetsOf(in Record record) => _epilogOffsets.AsSpan(record.EpilogStart, record.EpilogCount);

    internal ReadOnlySpan<PeProblem> ProblemsOf(in Record record) =>
        record.ProblemCount == 0 ? default : System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_problems).Slice(record.ProblemStart, record.ProblemCount);

    /// <summary>Decodes the UNWIND_INFO at <paramref name="rva"/> into a new record; returns its index.</summary>
    public int Decode(ImageReader reader, uint rva)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (_codes.Count == 0 || _codeCount > _codes[^1].Length - byte.MaxValue)
        {
            // A table of a few records (one looked up by RVA) starts with a chunk of their size.
            _codes.Add(new UnwindCode[_codes.Count == 0 && _records.Length < 16 ? byte.MaxValue * _records.Length : ChunkSize]);
            _codeCount = 0;
        }

        var record = new Record { Rva = rva, ProblemStart = _problems.Count, CodeStart = ((_codes.Count - 1) << ChunkBits) | _codeCount, EpilogStart = _epilogCount };
        DecodeInto(reader, ref record);
        record.ProblemCount = checked((byte)(_problems.Count - record.ProblemStart));
        if (Count == _records.Length)
        {
            Array.Resize(ref _records, Count * 2);
        }

        _records[Count] = record;
        return Count++;
    }

    private void DecodeInto(ImageReader reader, ref Record r)
    {
        var rva = r.Rva;
        Span<byte> header = stackalloc byte[UnwindInfo.HeaderSize];
        if (!reader.TryRead(rva, UnwindInfo.HeaderSize, header, out var h))
        {
            Problem(rva, ProblemCode.UnwindHeaderUnmapped, $"UNWIND_INFO at RVA 0x{rva:X} is outside the image's sections");
            return;
        }

        r.State |= Record.HeaderRead;
        r.VersionAndFlags = h[0];
        r.SizeOfProlog = h[1];
        r.CountOfCodes = h[2];
        r.Frame = h[3];
        var version = (byte)(h[0] & 7);
        var flags = (UnwindFlags)(h[0] >> 3);
        var count = r.CountOfCodes;
        if (version == 3)
        {
            // Version 3 (APX) has a payload of its own after the header; it is valid, only not decoded here.
            return;
        }

        if (version is not (1 or 2))
        {
            Problem(rva, ProblemCode.UnwindBadVersion, $"version {version} (only 1, 2 and 3 exist); the rest cannot be decoded");
            return;
        }

        if ((flags & UnwindFlags.ChainInfo) != 0 && (flags & (UnwindFlags.EHandler | UnwindFlags.UHandler)) != 0)
        {
            Problem(rva, ProblemCode.UnwindFlagsChainAndHandler, $"flags 0x{(byte)flags:X} combine CHAININFO with a handler flag, which are exclusive");
        }

        if ((byte)flags > 7)
        {
            Problem(rva, ProblemCode.UnwindFlagsUnknown, $"flags 0x{(byte)flags:X} include undefined bits");
        }

        var arrayBytes = ((count + 1) & ~1) * 2;
        Span<byte> array = stackalloc byte[512];

        // A record with no codes may end exactly where its section ends (mingw emits these).
        ReadOnlySpan<byte> codes = array[..0];
        if (arrayBytes > 0 && !reader.TryRead(rva + UnwindInfo.HeaderSize, arrayBytes, array, out codes))
        {
            Problem(rva, ProblemCode.UnwindCodesOutsideSection, $"its {count} unwind codes run past the end of their section");
            return;
        }

        DecodeCodes(codes[..(count * 2)], version, count, ref r);
        var tail = rva + (uint)(UnwindInfo.HeaderSize + arrayBytes);
        Span<byte> scratch = stackalloc byte[RuntimeFunction.Size];
        if ((flags & UnwindFlags.ChainInfo) != 0)
        {
            if (reader.TryRead(tail, RuntimeFunction.Size, scratch, out var e))
            {
                r.State |= Record.HasChained;
                r.Tail0 = BinaryPrimitives.ReadUInt32LittleEndian(e);
                r.Tail1 = BinaryPrimitives.ReadUInt32LittleEndian(e[4..]);
                r.Tail2 = BinaryPrimitives.ReadUInt32LittleEndian(e[8..]);
            }
            else
            {
                Problem(rva, ProblemCode.UnwindChainOutsideSection, "its chained RUNTIME_FUNCTION runs past the end of its section");
            }
        }
        else if ((flags & (UnwindFlags.EHandler | UnwindFlags.UHandler)) != 0)
        {
            if (reader.TryRead(tail, 4, scratch, out var w))
            {
                r.State |= Record.HasHandlerRva;
                r.Tail0 = BinaryPrimitives.ReadUInt32LittleEndian(w);
            }
            else
            {
                Problem(rva, ProblemCode.UnwindHandlerOutsideSection, "its exception handler RVA runs past the end of its section");
            }
        }
    }

    private void DecodeCodes(ReadOnlySpan<byte> raw, byte version, int count, ref Record r)
    {
        var i = 0;
        if (version == 2 && count > 0 && (raw[1] & 0xF) == (int)UnwindOp.Epilog)
        {
            r.State |= Record.HasEpilogs;
            if ((raw[1] >> 4 & 1) != 0)
            {
                r.State |= Record.EpilogAtEnd;
            }

            r.EpilogSize = raw[0];
            for (i = 1; i < count && (raw[(i * 2) + 1] & 0xF) == (int)UnwindOp.Epilog; i++)
            {
                var offset = raw[i * 2] | ((raw[(i * 2) + 1] >> 4) << 8);
                if (offset == 0)
                {
                    r.EpilogPadding++;
                }
                else
                {
                    AddEpilogOffset(offset);
                    r.EpilogCount++;
                }
            }
        }

        while (i < count)
        {
            var offset = raw[i * 2];
            var op = (UnwindOp)(raw[(i * 2) + 1] & 0xF);
            var info = (byte)(raw[(i * 2) + 1] >> 4);
            int slots;
            uint value = 0;
            switch (op)
            {
                case UnwindOp.PushNonvol:
                case UnwindOp.SetFpreg:
                case UnwindOp.PushMachframe:
                    slots = 1;
                    break;
                case UnwindOp.AllocSmall:
                    slots = 1;
                    value = (uint)(info * 8) + 8;
                    break;
                case UnwindOp.AllocLarge when info == 0:
                    slots = 2;
                    break;
                case UnwindOp.AllocLarge when info == 1:
                    slots = 3;
                    break;
                case UnwindOp.AllocLarge:
                    Problem(r.Rva, ProblemCode.UnwindBadAllocLarge, $"code {i}: ALLOC_LARGE with OpInfo {info} (only 0 and 1 are defined)");
                    return;
                case UnwindOp.SaveNonvol:
                case UnwindOp.SaveXmm128:
                    slots = 2;
                    break;
                case UnwindOp.SaveNonvolFar:
                case UnwindOp.SaveXmm128Far:
                    slots = 3;
                    break;
                case UnwindOp.Epilog when version == 2:
                    Problem(r.Rva, ProblemCode.UnwindEpilogCodeMisplaced, $"code {i}: UWOP_EPILOG after a prolog code; the epilog codes must come first");
                    return;
                case UnwindOp.Epilog:
                    Problem(r.Rva, ProblemCode.UnwindObsoleteOp, $"code {i}: op 6 in a version 1 record (the obsolete UWOP_SAVE_XMM form); its size is not known, decoding stops");
                    return;
                default:
                    Problem(r.Rva, ProblemCode.UnwindUnknownOp, $"code {i}: op {(byte)op} is reserved or unknown; its size is not known, decoding stops");
                    return;
            }

            if (i + slots > count)
            {
                Problem(r.Rva, ProblemCode.UnwindTruncatedOp, $"code {i}: {UnwindCode.OpName(op)} needs {slots} slots but only {count - i} remain");
                return;
            }

            var operand = raw[((i + 1) * 2)..];
            value = op switch
            {
                UnwindOp.AllocLarge when info == 0 => BinaryPrimitives.ReadUInt16LittleEndian(operand) * 8u,
                UnwindOp.AllocLarge => BinaryPrimitives.ReadUInt32LittleEndian(operand),
                UnwindOp.SaveNonvol => BinaryPrimitives.ReadUInt16LittleEndian(operand) * 8u,
                UnwindOp.SaveNonvolFar => BinaryPrimitives.ReadUInt32LittleEndian(operand),
                UnwindOp.SaveXmm128 => BinaryPrimitives.ReadUInt16LittleEndian(operand) * 16u,
                UnwindOp.SaveXmm128Far => BinaryPrimitives.ReadUInt32LittleEndian(operand),
                _ => value,
            };
            AddCode(new UnwindCode(offset, op, info, value, slots));
            r.CodeCount++;
            i += slots;
        }
    }

    private void AddCode(UnwindCode code) => _codes[^1][_codeCount++] = code;

    private void AddEpilogOffset(int offset)
    {
        if (_epilogCount == _epilogOffsets.Length)
        {
            Array.Resize(ref _epilogOffsets, _epilogCount * 2);
        }

        _epilogOffsets[_epilogCount++] = offset;
    }

    private void Problem(uint rva, ProblemCode code, string message) => _problems.Add(new PeProblem(PeStructure.UnwindInfo, code, message, rva));

    /// <summary>One UNWIND_INFO: its header bytes as written, slices of the shared arrays, and what follows the codes.</summary>
    internal struct Record
    {
        public const byte HasEpilogs = 1;
        public const byte EpilogAtEnd = 2;
        public const byte HasHandlerRva = 4;
        public const byte HasChained = 8;
        public const byte HeaderRead = 16; // the header is mapped: the record is the entry's unwind info

        public uint Rva;
        public byte VersionAndFlags;
        public byte SizeOfProlog;
        public byte CountOfCodes;
        public byte Frame;
        public int CodeStart;
        public int EpilogStart;
        public int ProblemStart;
        public byte CodeCount;
        public byte EpilogCount;
        public byte EpilogSize;
        public byte EpilogPadding;
        public byte ProblemCount;
        public byte State;

        // The handler RVA, or the chained RUNTIME_FUNCTION's begin, end and unwind data.
        public uint Tail0;
        public uint Tail1;
        public uint Tail2;
    }
}
