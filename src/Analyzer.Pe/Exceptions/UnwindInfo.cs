using System.Buffers.Binary;

namespace Pelint.Pe.Exceptions;

/// <summary>
/// Version 2 epilog codes: the first UWOP_EPILOG gives the size of every epilog and, with
/// OpInfo bit 0, says one ends the function; each further code gives an epilog's offset back
/// from the function's end (offset 0 = padding).
/// </summary>
public sealed record V2EpilogCodes(int Size, bool AtEnd, IReadOnlyList<int> OffsetsFromEnd, int PaddingCodes)
{
    /// <summary>Epilog start RVAs for a function with this unwind info (it can be shared).</summary>
    public IEnumerable<uint> StartsFor(RuntimeFunction function)
    {
        if (AtEnd)
        {
            yield return function.EndAddress - (uint)Size;
        }

        foreach (var offset in OffsetsFromEnd)
        {
            yield return function.EndAddress - (uint)offset;
        }
    }
}

/// <summary>
/// UNWIND_INFO, decoded per Microsoft's "x64 exception handling": byte 0 = Version (low 3 bits)
/// | Flags &lt;&lt; 3; byte 1 SizeOfProlog; byte 2 CountOfCodes; byte 3 FrameRegister (low
/// nibble) | FrameOffset (high nibble, times 16); the code array padded to an even count; then a
/// handler RVA and its data, or one chained RUNTIME_FUNCTION.
/// </summary>
public sealed record UnwindInfo(
    uint Rva,
    byte Version,
    UnwindFlags Flags,
    byte SizeOfProlog,
    byte CountOfCodes,
    byte FrameRegister,
    int FrameOffset,
    IReadOnlyList<UnwindCode> Codes,
    V2EpilogCodes? Epilogs,
    uint? HandlerRva,
    uint? LanguageDataRva,
    RuntimeFunction? Chained,
    IReadOnlyList<PeProblem> Problems)
{
    public const int HeaderSize = 4;

    public bool HasHandler => (Flags & (UnwindFlags.EHandler | UnwindFlags.UHandler)) != 0 && (Flags & UnwindFlags.ChainInfo) == 0;

    public bool IsChained => (Flags & UnwindFlags.ChainInfo) != 0;

    /// <summary>Bytes from the header to the end of the code array (padded to an even count).</summary>
    public int CodeArrayEnd => HeaderSize + (((CountOfCodes + 1) & ~1) * 2);

    public static UnwindInfo Read(PeImage image, uint rva)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var reader = image.OpenReader();
        return Read(reader, rva);
    }

    /// <summary>The record at <paramref name="rva"/>, read through a reader the caller keeps for many records.</summary>
    public static UnwindInfo Read(IO.ImageReader reader, uint rva)
    {
        ArgumentNullException.ThrowIfNull(reader);

        // Most records are sound: the problem list is only allocated for one that is not.
        var problems = new ProblemList(rva);
        Span<byte> header = stackalloc byte[HeaderSize];
        if (!reader.TryRead(rva, HeaderSize, header, out var h))
        {
            return Unreadable(rva, ProblemCode.UnwindHeaderUnmapped, $"UNWIND_INFO at RVA 0x{rva:X} is outside the image's sections");
        }

        var version = (byte)(h[0] & 7);
        var flags = (UnwindFlags)(h[0] >> 3);
        var prolog = h[1];
        var count = h[2];
        var frameRegister = (byte)(h[3] & 0xF);
        var frameOffset = (h[3] >> 4) * 16;
        if (version is not (1 or 2))
        {
            problems.Add(ProblemCode.UnwindBadVersion, $"version {version} (only 1 and 2 exist); the rest cannot be decoded");
            return new UnwindInfo(rva, version, flags, prolog, count, frameRegister, frameOffset, [], null, null, null, null, problems.ToArray());
        }

        if ((flags & UnwindFlags.ChainInfo) != 0 && (flags & (UnwindFlags.EHandler | UnwindFlags.UHandler)) != 0)
        {
            problems.Add(ProblemCode.UnwindFlagsChainAndHandler, $"flags 0x{(byte)flags:X} combine CHAININFO with a handler flag, which are exclusive");
        }

        if ((byte)flags > 7)
        {
            problems.Add(ProblemCode.UnwindFlagsUnknown, $"flags 0x{(byte)flags:X} include undefined bits");
        }

        var arrayBytes = ((count + 1) & ~1) * 2;
        Span<byte> array = stackalloc byte[512];
        if (!reader.TryRead(rva + HeaderSize, arrayBytes, array, out var codes))
        {
            problems.Add(ProblemCode.UnwindCodesOutsideSection, $"its {count} unwind codes run past the end of their section");
            return new UnwindInfo(rva, version, flags, prolog, count, frameRegister, frameOffset, [], null, null, null, null, problems.ToArray());
        }

        var (decoded, epilogs) = DecodeCodes(codes[..(count * 2)], version, count, ref problems);
        uint? handler = null;
        uint? languageData = null;
        RuntimeFunction? chained = null;
        var tail = rva + (uint)(HeaderSize + arrayBytes);
        if ((flags & UnwindFlags.ChainInfo) != 0)
        {
            Span<byte> entry = stackalloc byte[RuntimeFunction.Size];
            if (reader.TryRead(tail, RuntimeFunction.Size, entry, out var e))
            {
                chained = new RuntimeFunction(-1, BinaryPrimitives.ReadUInt32LittleEndian(e), BinaryPrimitives.ReadUInt32LittleEndian(e[4..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(e[8..]), reader.Map.TryGetFileOffset(tail, out var tailOffset, out _) ? tailOffset : -1);
            }
            else
            {
                problems.Add(ProblemCode.UnwindChainOutsideSection, "its chained RUNTIME_FUNCTION runs past the end of its section");
            }
        }
        else if ((flags & (UnwindFlags.EHandler | UnwindFlags.UHandler)) != 0)
        {
            Span<byte> word = stackalloc byte[4];
            if (reader.TryRead(tail, 4, word, out var w))
            {
                handler = BinaryPrimitives.ReadUInt32LittleEndian(w);
                languageData = tail + 4;
            }
            else
            {
                problems.Add(ProblemCode.UnwindHandlerOutsideSection, "its exception handler RVA runs past the end of its section");
            }
        }

        return new UnwindInfo(rva, version, flags, prolog, count, frameRegister, frameOffset, decoded, epilogs, handler, languageData, chained, problems.ToArray());
    }

    private static (UnwindCode[] Codes, V2EpilogCodes? Epilogs) DecodeCodes(ReadOnlySpan<byte> raw, byte version, int count, ref ProblemList problems)
    {
        var codes = new CodeList(stackalloc UnwindCode[count]);
        V2EpilogCodes? epilogs = null;
        var i = 0;
        if (version == 2 && count > 0 && (raw[1] & 0xF) == (int)UnwindOp.Epilog)
        {
            var size = raw[0];
            var atEnd = (raw[1] >> 4 & 1) != 0;
            var offsets = new List<int>();
            var padding = 0;
            for (i = 1; i < count && (raw[(i * 2) + 1] & 0xF) == (int)UnwindOp.Epilog; i++)
            {
                var offset = raw[i * 2] | ((raw[(i * 2) + 1] >> 4) << 8);
                if (offset == 0)
                {
                    padding++;
                }
                else
                {
                    offsets.Add(offset);
                }
            }

            epilogs = new V2EpilogCodes(size, atEnd, offsets, padding);
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
                    problems.Add(ProblemCode.UnwindBadAllocLarge, $"code {i}: ALLOC_LARGE with OpInfo {info} (only 0 and 1 are defined)");
                    return (codes.ToArray(), epilogs);
                case UnwindOp.SaveNonvol:
                case UnwindOp.SaveXmm128:
                    slots = 2;
                    break;
                case UnwindOp.SaveNonvolFar:
                case UnwindOp.SaveXmm128Far:
                    slots = 3;
                    break;
                case UnwindOp.Epilog when version == 2:
                    problems.Add(ProblemCode.UnwindEpilogCodeMisplaced, $"code {i}: UWOP_EPILOG after a prolog code; the epilog codes must come first");
                    return (codes.ToArray(), epilogs);
                case UnwindOp.Epilog:
                    problems.Add(ProblemCode.UnwindObsoleteOp, $"code {i}: op 6 in a version 1 record (the obsolete UWOP_SAVE_XMM form); its size is not known, decoding stops");
                    return (codes.ToArray(), epilogs);
                default:
                    problems.Add(ProblemCode.UnwindUnknownOp, $"code {i}: op {(byte)op} is reserved or unknown; its size is not known, decoding stops");
                    return (codes.ToArray(), epilogs);
            }

            if (i + slots > count)
            {
                problems.Add(ProblemCode.UnwindTruncatedOp, $"code {i}: {UnwindCode.OpName(op)} needs {slots} slots but only {count - i} remain");
                return (codes.ToArray(), epilogs);
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
            codes.Add(new UnwindCode(offset, op, info, value, slots));
            i += slots;
        }

        return (codes.ToArray(), epilogs);
    }

    /// <summary>Problems found while decoding one record (at <c>rva</c>); allocated on the first one.</summary>
    private struct ProblemList(uint rva)
    {
        private List<PeProblem>? _items;

        public void Add(ProblemCode code, string message) => (_items ??= []).Add(new PeProblem(PeStructure.UnwindInfo, code, message, rva));

        public readonly PeProblem[] ToArray() => _items is null ? [] : [.. _items];
    }

    /// <summary>Codes decoded into stack memory (at most 255 slots), copied out once at their final count.</summary>
    private ref struct CodeList(Span<UnwindCode> buffer)
    {
        private readonly Span<UnwindCode> _items = buffer;
        private int _count;

        public void Add(UnwindCode code) => _items[_count++] = code;

        public readonly UnwindCode[] ToArray() => _count == 0 ? [] : _items[.._count].ToArray();
    }

    private static UnwindInfo Unreadable(uint rva, ProblemCode code, string message) =>
        new(rva, 0, UnwindFlags.None, 0, 0, 0, 0, [], null, null, null, null, [new PeProblem(PeStructure.UnwindInfo, code, message, rva)]);
}
