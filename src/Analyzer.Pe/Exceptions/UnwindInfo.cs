using Pelint.Pe.IO;

namespace Pelint.Pe.Exceptions;

/// <summary>
/// A decoded UNWIND_INFO (Microsoft, "x64 exception handling"). Bit-fields are allocated from the
/// least significant bit: Version = byte0 &amp; 7, Flags = byte0 &gt;&gt; 3, FrameRegister = byte3 &amp; 0xF,
/// FrameOffset = (byte3 &gt;&gt; 4) * 16. Problems are recorded, never thrown.
/// </summary>
public sealed class UnwindInfo
{
    public const int HeaderSize = 4;

    private UnwindInfo(uint rva)
    {
        Rva = rva;
    }

    public uint Rva { get; }

    /// <summary>False when the 4-byte header itself could not be read.</summary>
    public bool IsReadable { get; private set; }

    public int Version { get; private set; }

    public UnwindFlags Flags { get; private set; }

    public byte SizeOfProlog { get; private set; }

    /// <summary>Raw slot count from the header.</summary>
    public byte CountOfCodes { get; private set; }

    /// <summary>Frame register number; 0 means none.</summary>
    public int FrameRegister { get; private set; }

    /// <summary>Scaled frame offset in bytes (the nibble times 16).</summary>
    public int FrameOffset { get; private set; }

    public IReadOnlyList<UnwindCode> Codes { get; private set; } = [];

    /// <summary>Version 2 epilogs decoded from the leading UWOP_EPILOG run.</summary>
    public IReadOnlyList<EpilogDescriptor> Epilogs { get; private set; } = [];

    /// <summary>Number of UWOP_EPILOG slots with offset 0 (padding).</summary>
    public int EpilogPadding { get; private set; }

    /// <summary>The epilog size given by the first UWOP_EPILOG (version 2), if any.</summary>
    public uint? EpilogSize { get; private set; }

    public uint? HandlerRva { get; private set; }

    public uint? LanguageDataRva { get; private set; }

    /// <summary>RVA where the handler RVA or chained entry sits (after the padded code array).</summary>
    public uint TrailerRva => Rva + HeaderSize + (2u * (uint)((CountOfCodes + 1) & ~1));

    public RuntimeFunction? Chained { get; private set; }

    public IReadOnlyList<PeProblem> Problems { get; private set; } = [];

    public bool HasHandler => (Flags & (UnwindFlags.EHandler | UnwindFlags.UHandler)) != 0;

    public bool IsChained => (Flags & UnwindFlags.ChainInfo) != 0;

    public string? FrameRegisterName => FrameRegister == 0 ? null : UnwindNames.Register(FrameRegister);

    /// <summary>Decodes the UNWIND_INFO at <paramref name="rva"/> for the function <paramref name="owner"/>.</summary>
    public static UnwindInfo Read(PeImage image, uint rva, RuntimeFunction owner)
    {
        var info = new UnwindInfo(rva);
        var problems = new List<PeProblem>();
        info.Problems = problems;
        Span<byte> scratch = stackalloc byte[HeaderSize];
        if (!image.TryRead(rva, HeaderSize, scratch, out var header))
        {
            problems.Add(Problem(image, "header-outside", $"UNWIND_INFO at RVA 0x{rva:X} is not inside a mapped section", rva));
            return info;
        }

        info.IsReadable = true;
        info.Version = header[0] & 7;
        info.Flags = (UnwindFlags)(header[0] >> 3);
        info.SizeOfProlog = header[1];
        info.CountOfCodes = header[2];
        info.FrameRegister = header[3] & 0xF;
        info.FrameOffset = (header[3] >> 4) * 16;
        if ((rva & 3) != 0)
        {
            problems.Add(Problem(image, "unaligned", $"UNWIND_INFO at RVA 0x{rva:X} is not 4-byte aligned", rva));
        }

        if (info.Version is not (1 or 2))
        {
            problems.Add(Problem(image, "version", $"UNWIND_INFO at RVA 0x{rva:X} has version {info.Version} (1 or 2 expected)", rva));
            return info;
        }

        if ((int)info.Flags > 7 || (info.IsChained && info.HasHandler))
        {
            problems.Add(Problem(image, "flags", $"UNWIND_INFO at RVA 0x{rva:X} has flags 0x{(int)info.Flags:X} (CHAININFO excludes EHANDLER and UHANDLER)", rva));
        }

        var padded = (info.CountOfCodes + 1) & ~1;
        if (!image.TryGetSpan(rva + HeaderSize, padded * 2, out var codes) && !image.Map.IsMapped(rva + HeaderSize, (uint)padded * 2))
        {
            problems.Add(Problem(image, "codes-outside", $"UNWIND_INFO at RVA 0x{rva:X}: its {info.CountOfCodes} unwind codes run outside the section", rva));
            return info;
        }

        if (codes.Length < padded * 2)
        {
            // Mapped but not file-backed: the loader sees zeros.
            var zero = new byte[padded * 2];
            image.Map.GetAvailableSpan(image.Bytes, rva + HeaderSize, padded * 2).CopyTo(zero);
            codes = zero;
        }

        info.DecodeCodes(image, codes[..(info.CountOfCodes * 2)], owner, problems);
        info.ReadTrailer(image, problems);
        return info;
    }

    private void DecodeCodes(PeImage image, ReadOnlySpan<byte> slots, RuntimeFunction owner, List<PeProblem> problems)
    {
        var list = new List<UnwindCode>(CountOfCodes);
        var count = slots.Length / 2;
        var i = 0;
        if (Version == 2)
        {
            i = DecodeEpilogs(slots, owner);
        }

        var sawFpreg = false;
        int? previousOffset = null;
        while (i < count)
        {
            var codeOffset = slots[i * 2];
            var op = (UnwindOp)(slots[(i * 2) + 1] & 0xF);
            var opInfo = (byte)(slots[(i * 2) + 1] >> 4);
            if (op == UnwindOp.Epilog && Version == 2)
            {
                problems.Add(Problem(image, "epilog-misplaced", $"UNWIND_INFO at RVA 0x{Rva:X}: UWOP_EPILOG at slot {i} after a prolog code (epilog codes come first)", Rva));
                list.Add(new UnwindCode(i, 1, codeOffset, op, opInfo));
                i++;
                continue;
            }

            var slotsNeeded = UnwindCode.SlotsOf(op, opInfo, Version);
            if (slotsNeeded == 0)
            {
                var what = op switch
                {
                    UnwindOp.SpareCode => "the reserved UWOP_SPARE_CODE (7)",
                    UnwindOp.AllocLarge => $"UWOP_ALLOC_LARGE with OpInfo {opInfo} (0 or 1 expected)",
                    _ => $"unknown op {(int)op}",
                };
                problems.Add(Problem(image, "unknown-op", $"UNWIND_INFO at RVA 0x{Rva:X}: slot {i} has {what}; the remaining codes cannot be decoded", Rva));
                list.Add(new UnwindCode(i, 0, codeOffset, op, opInfo));
                break;
            }

            if (i + slotsNeeded > count)
            {
                problems.Add(Problem(image, "truncated-op", $"UNWIND_INFO at RVA 0x{Rva:X}: {UnwindNames.Op(op)} at slot {i} needs {slotsNeeded} slots but only {count - i} remain", Rva));
                list.Add(new UnwindCode(i, slotsNeeded, codeOffset, op, opInfo));
                break;
            }

            if (op == UnwindOp.Epilog)
            {
                problems.Add(Problem(image, "obsolete-save-xmm", $"UNWIND_INFO at RVA 0x{Rva:X}: op 6 at slot {i} in a version 1 record (the obsolete UWOP_SAVE_XMM)", Rva));
            }

            list.Add(Decode(slots, i, slotsNeeded, codeOffset, op, opInfo));
            if (op == UnwindOp.SetFpreg)
            {
                sawFpreg = true;
            }

            if (codeOffset > SizeOfProlog)
            {
                problems.Add(Problem(image, "offset-past-prolog", $"UNWIND_INFO at RVA 0x{Rva:X}: code at slot {i} has offset 0x{codeOffset:X}, past the prolog size 0x{SizeOfProlog:X}", Rva));
            }

            if (previousOffset is { } prev && codeOffset > prev)
            {
                problems.Add(Problem(image, "offset-order", $"UNWIND_INFO at RVA 0x{Rva:X}: code at slot {i} has offset 0x{codeOffset:X}, after a code at 0x{prev:X} (offsets must descend)", Rva));
            }

            previousOffset = codeOffset;
            i += slotsNeeded;
        }

        // A chained fragment repeats its parent's frame register; the SET_FPREG is in the parent.
        if (sawFpreg ? FrameRegister == 0 : FrameRegister != 0 && !IsChained)
        {
            problems.Add(Problem(image, "frame-register", sawFpreg
                ? $"UNWIND_INFO at RVA 0x{Rva:X} has UWOP_SET_FPREG but no frame register"
                : $"UNWIND_INFO at RVA 0x{Rva:X} names frame register {UnwindNames.Register(FrameRegister)} but has no UWOP_SET_FPREG", Rva));
        }

        Codes = list;
    }

    // Microsoft: the first UWOP_EPILOG's CodeOffset is the epilog size and OpInfo bit 0 says an
    // epilog ends the function; each further one is CodeOffset | OpInfo << 8 bytes back from the
    // function's end; offset 0 is padding. Returns the first slot after the run.
    private int DecodeEpilogs(ReadOnlySpan<byte> slots, RuntimeFunction owner)
    {
        var count = slots.Length / 2;
        if (count == 0 || (UnwindOp)(slots[1] & 0xF) != UnwindOp.Epilog)
        {
            return 0;
        }

        var epilogs = new List<EpilogDescriptor>();
        var size = (uint)slots[0];
        EpilogSize = size;
        if (((slots[1] >> 4) & 1) != 0)
        {
            epilogs.Add(new EpilogDescriptor(owner.EndAddress - size, size, size));
        }

        var i = 1;
        while (i < count && (UnwindOp)(slots[(i * 2) + 1] & 0xF) == UnwindOp.Epilog)
        {
            var back = (uint)(slots[i * 2] | ((slots[(i * 2) + 1] >> 4) << 8));
            if (back == 0)
            {
                EpilogPadding++;
            }
            else
            {
                epilogs.Add(new EpilogDescriptor(owner.EndAddress - back, size, back));
            }

            i++;
        }

        Epilogs = epilogs;
        return i;
    }

    private static UnwindCode Decode(ReadOnlySpan<byte> s, int i, int n, byte codeOffset, UnwindOp op, byte opInfo)
    {
        var slot1 = n > 1 ? (ushort)(s[(i + 1) * 2] | (s[((i + 1) * 2) + 1] << 8)) : (ushort)0;
        var slot2 = n > 2 ? (ushort)(s[(i + 2) * 2] | (s[((i + 2) * 2) + 1] << 8)) : (ushort)0;
        var wide = slot1 | ((uint)slot2 << 16);
        return op switch
        {
            UnwindOp.PushNonvol => new(i, n, codeOffset, op, opInfo, Register: opInfo),
            UnwindOp.AllocSmall => new(i, n, codeOffset, op, opInfo, Size: (opInfo * 8u) + 8u),
            UnwindOp.AllocLarge => new(i, n, codeOffset, op, opInfo, Size: opInfo == 0 ? slot1 * 8u : wide),
            UnwindOp.SaveNonvol => new(i, n, codeOffset, op, opInfo, Register: opInfo, StackOffset: slot1 * 8u),
            UnwindOp.SaveNonvolFar => new(i, n, codeOffset, op, opInfo, Register: opInfo, StackOffset: wide),
            UnwindOp.SaveXmm128 => new(i, n, codeOffset, op, opInfo, Register: opInfo, StackOffset: slot1 * 16u),
            UnwindOp.SaveXmm128Far => new(i, n, codeOffset, op, opInfo, Register: opInfo, StackOffset: wide),
            _ => new(i, n, codeOffset, op, opInfo),
        };
    }

    private void ReadTrailer(PeImage image, List<PeProblem> problems)
    {
        var at = TrailerRva;
        Span<byte> scratch = stackalloc byte[RuntimeFunction.Size];
        if (IsChained)
        {
            if (!image.TryRead(at, RuntimeFunction.Size, scratch, out var entry))
            {
                problems.Add(Problem(image, "chain-outside", $"UNWIND_INFO at RVA 0x{Rva:X}: its chained RUNTIME_FUNCTION at 0x{at:X} is outside the section", Rva));
                return;
            }

            Chained = new RuntimeFunction(-1, SpanReadU32(entry, 0), SpanReadU32(entry, 4), SpanReadU32(entry, 8), image.FileOffsetOf(at));
        }
        else if (HasHandler)
        {
            if (!image.TryRead(at, 4, scratch, out var handler))
            {
                problems.Add(Problem(image, "handler-outside", $"UNWIND_INFO at RVA 0x{Rva:X}: its handler RVA at 0x{at:X} is outside the section", Rva));
                return;
            }

            HandlerRva = SpanReadU32(handler, 0);
            LanguageDataRva = at + 4;
        }
    }

    private static uint SpanReadU32(ReadOnlySpan<byte> data, int offset) => SpanRead.TryUInt32(data, offset, out var v) ? v : 0;

    private static PeProblem Problem(PeImage image, string code, string message, uint rva) =>
        new(PeStructure.UnwindInfo, code, message, rva, image.FileOffsetOf(rva), HeaderSize);
}
