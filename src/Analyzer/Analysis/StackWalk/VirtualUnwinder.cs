using System.Buffers.Binary;
using Pelint.Pe;
using Pelint.Pe.Exceptions;
using Pelint.Pe.IO;

namespace Pelint.Analysis.StackWalk;

/// <summary>
/// A model of what Windows' RtlVirtualUnwind computes for x64 from one instruction, over
/// symbolic registers and stack (<see cref="StackState"/>) instead of real memory. It follows
/// Microsoft's algorithm step by step, quirks included (the unwinder copied into dotnet/runtime,
/// src/coreclr/unwinder/amd64/unwinder.cpp, is the reference; the rule pages say where Wine
/// differs):
/// <list type="bullet">
/// <item>version 1: a forward scan of the bytes at the instruction recognises an epilog
/// (<c>add rsp</c> / <c>lea rsp,[fp+d]</c>, <c>pop</c>s, then <c>ret</c>, <c>rep ret</c>, or a jump that
/// leaves the function) and simulates the rest of it;</item>
/// <item>version 2: an epilog listed by UWOP_EPILOG is undone from the push codes; there is no scan;</item>
/// <item>otherwise the codes are applied, in the prolog only those whose CodeOffset is reached,
/// then the chained parents' codes, then the return.</item>
/// </list>
/// One instance per worker: it reuses its outcome and scratch buffers.
/// </summary>
public sealed class VirtualUnwinder : IDisposable
{
    /// <summary>The SDK's UNWIND_CHAIN_LIMIT.</summary>
    public const int ChainLimit = 32;

    // Longer than any epilog the scan can accept (an add or lea, sixteen 2-byte pops, a prefix, a jmp).
    private const int ScanBytes = 64;

    // Unwind data and code are far apart in the file: a reader each, so neither evicts the other's window.
    private readonly ImageReader _reader;
    private readonly ImageReader _codeReader;
    private readonly ExceptionDirectory _directory;
    private readonly byte[] _code = new byte[ScanBytes];

    // One copy of a record per use that may overlap another (the function's record while the
    // epilog scan looks up its primary; a chain walked link by link).
    private readonly RawUnwindInfo.Copy _info = new();
    private readonly RawUnwindInfo.Copy _link = new();
    private readonly RawUnwindInfo.Copy _primary = new();
    private readonly UnwindResult _result = new();

    public VirtualUnwinder(PeImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        _reader = image.OpenReader();
        _codeReader = image.OpenReader();
        _directory = image.ExceptionDirectory;
    }

    public void Dispose()
    {
        _reader.Dispose();
        _codeReader.Dispose();
    }

    /// <summary>
    /// Unwinds from the instruction at <paramref name="controlPc"/> in the function described by
    /// <paramref name="entry"/> (as RtlLookupFunctionEntry returns it: a low-bit indirect entry
    /// already resolved to the entry it names), with the machine in <paramref name="state"/>.
    /// The outcome is reused by the next call.
    /// </summary>
    public UnwindResult Unwind(RuntimeFunction entry, uint controlPc, StackState state) => Unwind(entry, controlPc, state, mayStartEpilog: true);

    /// <summary>
    /// As <see cref="Unwind(RuntimeFunction, uint, StackState)"/>; <paramref name="mayStartEpilog"/>
    /// false says the instruction at <paramref name="controlPc"/> is none of the ones the version 1
    /// epilog scan starts with (<c>add</c>/<c>lea</c> to RSP, <c>pop</c>, <c>ret</c>, <c>jmp</c>), so the
    /// scan, which would reject it, need not read the code.
    /// </summary>
    public UnwindResult Unwind(RuntimeFunction entry, uint controlPc, StackState state, bool mayStartEpilog)
    {
        var outcome = _result;
        outcome.Reset(state);
        if (!RawUnwindInfo.TryRead(_reader, entry.UnwindData, _info, out var info))
        {
            outcome.Failure = UnwindFailure.InfoUnreadable;
            return outcome;
        }

        if (info.Version > 2)
        {
            outcome.Failure = UnwindFailure.UnsupportedVersion;
            return outcome;
        }

        var frameBase = EstablisherFrame(info, entry, controlPc, outcome.Registers);
        if (info.Version < 2)
        {
            if (mayStartEpilog && ScanForEpilog(entry, info, controlPc, out var frameRegister))
            {
                SimulateEpilog(frameRegister, state, outcome);
                return outcome;
            }
        }
        else if (info.CountOfCodes != 0 && FindListedEpilog(entry, info, controlPc, out var offsetInEpilog))
        {
            UndoEpilog(entry, offsetInEpilog, state, outcome);
            return outcome;
        }

        UnwindCodes(entry, controlPc, frameBase, state, outcome);
        return outcome;
    }

    /// <summary>
    /// Where the answer for <paramref name="entry"/> stops depending on the instruction's offset:
    /// from <paramref name="from"/> on, every code of every link of the chain is applied and the
    /// establisher frame is the frame register's (when there is one), so outside an epilog
    /// <see cref="Unwind(RuntimeFunction, uint, StackState, bool)"/> reads only RSP, the registers of
    /// <paramref name="frameRegisters"/> (a bit each) and stack slots. <paramref name="listsEpilogs"/>
    /// says version 2 UWOP_EPILOG codes may claim an instruction (their lookup depends on it). False
    /// when the chain cannot be read.
    /// </summary>
    public bool TrySettle(RuntimeFunction entry, out uint from, out int frameRegisters, out bool listsEpilogs)
    {
        from = 0;
        frameRegisters = 0;
        listsEpilogs = false;
        long settled = 0;
        var begin = entry.BeginAddress;
        var unwindData = entry.UnwindData;
        for (var links = 0; links <= ChainLimit; links++)
        {
            if (!RawUnwindInfo.TryRead(_reader, unwindData, _link, out var info))
            {
                return false;
            }

            if (links == 0)
            {
                listsEpilogs = info.Version >= 2 && info.CountOfCodes != 0;
            }

            var last = (long)info.SizeOfProlog;
            for (var index = 0; index < info.CountOfCodes; index += RawUnwindInfo.Slots(info.Op(index), info.OpInfo(index)))
            {
                last = Math.Max(last, info.CodeOffset(index));
            }

            settled = Math.Max(settled, begin + last);
            if (info.FrameRegister != 0)
            {
                frameRegisters |= 1 << info.FrameRegister;
            }

            if (!info.IsChained)
            {
                from = settled > uint.MaxValue ? uint.MaxValue : (uint)settled;
                return settled <= uint.MaxValue;
            }

            (begin, _, unwindData) = info.Chained;
        }

        return false;
    }

    // The establisher frame, which SAVE_NONVOL and SAVE_XMM128 offsets are relative to.
    private static Sym EstablisherFrame(RawUnwindInfo info, RuntimeFunction entry, uint controlPc, Sym[] registers)
    {
        var prologOffset = controlPc - entry.BeginAddress;
        if (info.FrameRegister == 0)
        {
            return registers[StackState.Rsp];
        }

        var framed = registers[info.FrameRegister].Add(-16L * info.FrameOffset);
        if (prologOffset >= info.SizeOfProlog || info.IsChained)
        {
            return framed;
        }

        // In the prolog: the frame register counts once SET_FPREG has run.
        var index = 0;
        while (index < info.CountOfCodes && info.Op(index) != UnwindOp.SetFpreg)
        {
            index += RawUnwindInfo.Slots(info.Op(index), info.OpInfo(index));
        }

        return prologOffset >= info.CodeOffset(index) ? framed : registers[StackState.Rsp];
    }

    // Version 1: does the code from controlPc on read as the rest of an epilog?
    private bool ScanForEpilog(RuntimeFunction entry, RawUnwindInfo info, uint controlPc, out int frameRegister)
    {
        frameRegister = 0;
        var b = ReadCode(controlPc);
        var at = 0;
        if (b[0] == 0x48 && b[1] == 0x83 && b[2] == 0xC4)
        {
            at = 4; // add rsp, imm8
        }
        else if (b[0] == 0x48 && b[1] == 0x81 && b[2] == 0xC4)
        {
            at = 7; // add rsp, imm32
        }
        else if ((b[0] & 0xFE) == 0x48 && b[1] == 0x8D)
        {
            frameRegister = ((b[0] & 1) << 3) | (b[2] & 7);
            if (frameRegister != 0 && frameRegister == info.FrameRegister)
            {
                if ((b[2] & 0xF8) == 0x60)
                {
                    at = 4; // lea rsp, disp8[fp]
                }
                else if ((b[2] & 0xF8) == 0xA0)
                {
                    at = 7; // lea rsp, disp32[fp]
                }
            }
        }

        while (at < ScanBytes - 2)
        {
            if ((b[at] & 0xF8) == 0x58)
            {
                at += 1;
            }
            else if ((b[at] & 0xF0) == 0x40 && (b[at + 1] & 0xF8) == 0x58)
            {
                at += 2;
            }
            else
            {
                break;
            }
        }

        if (at >= ScanBytes - 8)
        {
            return false;
        }

        if (b[at] == 0xF2)
        {
            at++;
        }

        if (b[at] is 0xC3 or 0xC2 || (b[at] == 0xF3 && b[at + 1] == 0xC3))
        {
            return true;
        }

        if (b[at] is 0xEB or 0xE9)
        {
            var next = controlPc + (uint)at;
            long target = b[at] == 0xEB ? next + 2L + (sbyte)b[at + 1] : next + 5L + BinaryPrimitives.ReadInt32LittleEndian(b[(at + 1)..]);
            return IsTailJump(entry, info, target);
        }

        if (b[at] == 0xFF && b[at + 1] == 0x25)
        {
            return true; // jmp [rip+disp32]
        }

        // REX.W jmp r/m64: the redundant REX.W marks a jump out of the function.
        return (b[at] & 0xF8) == 0x48 && b[at + 1] == 0xFF && (b[at + 2] & 0x38) == 0x20;
    }

    // A jump to outside this entry that is not into another part of the same function, or to the
    // function's own start (a recursive tail call), is a tail call.
    private bool IsTailJump(RuntimeFunction entry, RawUnwindInfo info, long target)
    {
        if (target < entry.BeginAddress || target >= entry.EndAddress)
        {
            if (target is < 0 or > uint.MaxValue)
            {
                return true;
            }

            var primary = PrimaryBegin(entry);
            var containing = LookupFunctionEntry((uint)target);
            if (primary is null || containing is null || PrimaryBegin(containing.Value) is not { } other || other != primary)
            {
                return true;
            }

            return target == primary;
        }

        return target == entry.BeginAddress && !info.IsChained;
    }

    // Runs the epilog the scan recognised: its release, its pops, and a return (whatever the exit is).
    private void SimulateEpilog(int frameRegister, StackState state, UnwindResult outcome)
    {
        outcome.Path = UnwindPath.EpilogScan;
        var registers = outcome.Registers;
        var b = _code.AsSpan(); // still the bytes at controlPc
        var at = 0;
        if ((b[0] & 0xF8) == 0x48)
        {
            if (b[1] == 0x83)
            {
                registers[StackState.Rsp] = registers[StackState.Rsp].Add((sbyte)b[3]);
                at = 4;
            }
            else if (b[1] == 0x81)
            {
                registers[StackState.Rsp] = registers[StackState.Rsp].Add(BinaryPrimitives.ReadInt32LittleEndian(b[3..]));
                at = 7;
            }
            else if (b[1] == 0x8D && (b[2] & 0xF8) == 0x60)
            {
                registers[StackState.Rsp] = registers[frameRegister].Add((sbyte)b[3]);
                at = 4;
            }
            else if (b[1] == 0x8D && (b[2] & 0xF8) == 0xA0)
            {
                registers[StackState.Rsp] = registers[frameRegister].Add(BinaryPrimitives.ReadInt32LittleEndian(b[3..]));
                at = 7;
            }
        }

        while (at < ScanBytes - 2)
        {
            int register;
            if ((b[at] & 0xF8) == 0x58)
            {
                register = b[at] & 7;
                at += 1;
            }
            else if ((b[at] & 0xF0) == 0x40 && (b[at + 1] & 0xF8) == 0x58)
            {
                register = ((b[at] & 1) << 3) | (b[at + 1] & 7);
                at += 2;
            }
            else
            {
                break;
            }

            Pop(register, state, outcome);
        }

        Return(state, outcome);
    }

    // Version 2: is controlPc inside an epilog the UWOP_EPILOG codes list? (No scan of the code.)
    private static bool FindListedEpilog(RuntimeFunction entry, RawUnwindInfo info, uint controlPc, out uint offsetInEpilog)
    {
        offsetInEpilog = 0;
        if (info.Op(0) != UnwindOp.Epilog)
        {
            return false;
        }

        var size = (uint)info.CodeOffset(0);
        var relative = controlPc;
        if ((info.OpInfo(0) & 1) != 0)
        {
            var start = entry.EndAddress - size;
            if (relative - start < size)
            {
                offsetInEpilog = relative - start;
                return true;
            }
        }

        for (var index = 1; index < info.CountOfCodes && info.Op(index) == UnwindOp.Epilog; index++)
        {
            var fromEnd = (uint)(info.CodeOffset(index) + (info.OpInfo(index) * 256));
            if (fromEnd == 0)
            {
                break; // padding
            }

            var start = entry.EndAddress - fromEnd;
            if (relative - start < size)
            {
                offsetInEpilog = relative - start;
                return true;
            }
        }

        return false;
    }

    // Version 2 epilog: pop the pushes (from the first push code on) not yet popped, then return.
    private void UndoEpilog(RuntimeFunction entry, uint offsetInEpilog, StackState state, UnwindResult outcome)
    {
        outcome.Path = UnwindPath.EpilogCodes;
        var unwindData = entry.UnwindData;
        for (var links = 0; ; links++)
        {
            if (!RawUnwindInfo.TryRead(_reader, unwindData, _link, out var info))
            {
                outcome.Failure = UnwindFailure.InfoUnreadable;
                return;
            }

            var first = 0;
            while (first < info.CountOfCodes && info.Op(first) is not (UnwindOp.PushNonvol or UnwindOp.PushMachframe))
            {
                first += RawUnwindInfo.Slots(info.Op(first), info.OpInfo(first));
            }

            if (first >= info.CountOfCodes && info.IsChained)
            {
                if (links >= ChainLimit)
                {
                    outcome.Failure = UnwindFailure.ChainTooLong;
                    return;
                }

                unwindData = info.Chained.UnwindData;
                continue;
            }

            var offset = 0u;
            var index = first;
            for (; index < info.CountOfCodes && info.Op(index) == UnwindOp.PushNonvol; index++)
            {
                var register = info.OpInfo(index);
                if (offset >= offsetInEpilog)
                {
                    Pop(register, state, outcome);
                }

                offset += register >= 8 ? 2u : 1u;
            }

            if (index < info.CountOfCodes && info.Op(index) == UnwindOp.AllocSmall && info.OpInfo(index) == 0)
            {
                if (offset >= offsetInEpilog)
                {
                    outcome.Rsp = outcome.Rsp.Add(8); // the pushfq of the prolog
                }

                index++;
            }

            if (index < info.CountOfCodes && info.Op(index) == UnwindOp.PushMachframe)
            {
                var rsp = outcome.Rsp;
                outcome.Rip = outcome.Read(state, rsp);
                outcome.Rsp = outcome.Read(state, rsp.Add(24));
                return;
            }

            Return(state, outcome);
            return;
        }
    }

    // Outside any epilog: apply the codes (those of the prolog reached so far), then the chain's.
    private void UnwindCodes(RuntimeFunction entry, uint controlPc, Sym frameBase, StackState state, UnwindResult outcome)
    {
        var registers = outcome.Registers;
        var begin = entry.BeginAddress;
        var unwindData = entry.UnwindData;
        for (var links = 0; ; links++)
        {
            if (!RawUnwindInfo.TryRead(_reader, unwindData, _link, out var info))
            {
                outcome.Failure = UnwindFailure.InfoUnreadable;
                return;
            }

            var prologOffset = controlPc - begin;
            var machineFrame = false;
            var index = 0;
            while (index < info.CountOfCodes)
            {
                var op = info.Op(index);
                var opInfo = info.OpInfo(index);
                if (op > UnwindOp.PushMachframe)
                {
                    outcome.Failure = UnwindFailure.BadCodes;
                    return;
                }

                if (prologOffset < info.CodeOffset(index))
                {
                    index += RawUnwindInfo.Slots(op, opInfo);
                    continue;
                }

                switch (op)
                {
                    case UnwindOp.PushNonvol:
                        Pop(opInfo, state, outcome);
                        break;
                    case UnwindOp.AllocLarge:
                        if (!info.HasSlot(index + (opInfo != 0 ? 2 : 1)))
                        {
                            outcome.Failure = UnwindFailure.BadCodes;
                            return;
                        }

                        long size = opInfo != 0 ? (uint)info.Operand(index + 1) | ((uint)info.Operand(index + 2) << 16) : info.Operand(index + 1) * 8L;
                        index += opInfo != 0 ? 2 : 1;
                        registers[StackState.Rsp] = registers[StackState.Rsp].Add(size);
                        break;
                    case UnwindOp.AllocSmall:
                        registers[StackState.Rsp] = registers[StackState.Rsp].Add((opInfo * 8) + 8);
                        break;
                    case UnwindOp.SetFpreg:
                        registers[StackState.Rsp] = registers[info.FrameRegister].Add(-16L * info.FrameOffset);
                        break;
                    case UnwindOp.SaveNonvol:
                    case UnwindOp.SaveNonvolFar:
                        var far = op == UnwindOp.SaveNonvolFar;
                        if (!info.HasSlot(index + (far ? 2 : 1)))
                        {
                            outcome.Failure = UnwindFailure.BadCodes;
                            return;
                        }

                        long displacement = far ? (uint)info.Operand(index + 1) | ((uint)info.Operand(index + 2) << 16) : info.Operand(index + 1) * 8L;
                        index += far ? 2 : 1;
                        var address = frameBase.Add(displacement);
                        outcome.Restore(opInfo, address, outcome.Read(state, address));
                        break;
                    case UnwindOp.Epilog:
                    case UnwindOp.SaveXmm128:
                        index += 1;
                        break;
                    case UnwindOp.SaveXmm128Far:
                        index += 2;
                        break;
                    case UnwindOp.SpareCode:
                        outcome.Failure = UnwindFailure.BadCodes;
                        return;
                    case UnwindOp.PushMachframe:
                        machineFrame = true;
                        var frame = registers[StackState.Rsp].Add(opInfo != 0 ? 8 : 0);
                        outcome.Rip = outcome.Read(state, frame);
                        registers[StackState.Rsp] = outcome.Read(state, frame.Add(24));
                        break;
                }

                index++;
            }

            if (!info.IsChained)
            {
                if (!machineFrame)
                {
                    Return(state, outcome);
                }

                return;
            }

            if (links >= ChainLimit)
            {
                outcome.Failure = UnwindFailure.ChainTooLong;
                return;
            }

            (begin, _, unwindData) = info.Chained;
        }
    }

    // As the unwinder does it: read the register, then add 8 to RSP (so a popped RSP gets 8 more).
    private static void Pop(int register, StackState state, UnwindResult outcome)
    {
        var address = outcome.Rsp;
        outcome.Restore(register, address, outcome.Read(state, address));
        outcome.Rsp = outcome.Rsp.Add(8);
    }

    private static void Return(StackState state, UnwindResult outcome)
    {
        var rsp = outcome.Rsp;
        outcome.Rip = outcome.Read(state, rsp);
        outcome.Rsp = rsp.Add(8);
    }

    // The first bytes at an RVA as memory holds them: zero past the file's data.
    private Span<byte> ReadCode(uint rva)
    {
        var code = _code.AsSpan();
        code.Clear();
        if (_codeReader.Map.TryGetFileOffset(rva, out var offset, out var available))
        {
            var count = (int)Math.Min(available, ScanBytes);
            _codeReader.ReadAt(offset, count).CopyTo(code);
        }

        return code;
    }

    // RtlLookupFunctionEntry: the entry containing the RVA, a low-bit indirect one resolved.
    private RuntimeFunction? LookupFunctionEntry(uint rva) =>
        _directory.FindContaining(rva) is { } found ? _directory.UnwindSource(found) : null;

    // LookupPrimaryFunctionEntry: follows the chained copies in the unwind info (not the directory).
    private uint? PrimaryBegin(RuntimeFunction entry)
    {
        var begin = entry.BeginAddress;
        var unwindData = entry.UnwindData;
        for (var links = 0; links <= ChainLimit; links++)
        {
            if (!RawUnwindInfo.TryRead(_reader, unwindData, _primary, out var info) || !info.IsChained)
            {
                return begin;
            }

            (begin, _, unwindData) = info.Chained;
        }

        return null;
    }
}
