using Iced.Intel;
using Pelint.Pe.IO;

namespace Pelint.Analysis.Epilogs;

/// <summary>How an epilog stands against the unwinder's forward scan.</summary>
public enum EpilogVerdict
{
    /// <summary>The documented form: the forward scan recognises it from every instruction.</summary>
    Legal,

    /// <summary>Breaks the documented form but leaves no instruction the unwinder mishandles.</summary>
    Undocumented,

    /// <summary>An instruction runs after a partial restore and the forward scan does not see an epilog from it.</summary>
    Broken,
}

/// <summary>
/// One epilog found by walking back from an exit. Indexes point into the instruction list given
/// to <see cref="EpilogMatcher.Classify"/>; <see cref="Deviation"/> names the undocumented form,
/// <see cref="ScheduledIndex"/> the first instruction scheduled after a partial restore.
/// </summary>
public readonly record struct EpilogShape(int StartIndex, int ExitIndex, EpilogVerdict Verdict, string? Deviation, int? ScheduledIndex);

/// <summary>
/// The epilog form of Microsoft's x64 unwinder (dotnet/runtime src/coreclr/unwinder/amd64/
/// unwinder.cpp, RtlVirtualUnwind's forward scan): optional <c>add rsp, imm</c> or
/// <c>lea rsp, [FrameReg + disp]</c>, then <c>pop r64</c>s, then <c>ret</c>/<c>ret imm16</c>/
/// <c>rep ret</c> or a tail jump. Pure: decoded instructions and their bytes in, verdict out.
/// </summary>
public static class EpilogMatcher
{
    /// <summary>How far before an epilog we look for a restore that a scheduled instruction follows.</summary>
    public const int ScheduleLookBack = 4;

    /// <summary>Whether the instruction leaves the function as the unwinder's forward scan understands it.</summary>
    public static bool IsExit(in Instruction instruction, CodeBytes bytes, Func<ulong, bool> insideFunction)
    {
        switch (instruction.Code)
        {
            case Code.Retnq:
            case Code.Retnq_imm16:
                return true;
            case Code.Jmp_rel8_64:
            case Code.Jmp_rel32_64:
                return !insideFunction(instruction.NearBranchTarget);
            case Code.Jmp_rm64:
                // jmp [rip+disp32] (FF 25) or REX.W jmp r/m64; a plain jmp reg is a switch, not an exit.
                return (instruction.Op0Kind == OpKind.Memory && instruction.IsIPRelativeMemoryOperand) || bytes.HasRexW(instruction);
            default:
                return false;
        }
    }

    /// <summary>True when a tail jump uses ModRM mod 01 or 10, which the documentation prohibits.</summary>
    public static bool IsJumpWithDisplacementModRm(in Instruction instruction) =>
        instruction.Code == Code.Jmp_rm64 && instruction.Op0Kind == OpKind.Memory && !instruction.IsIPRelativeMemoryOperand
        && instruction.MemoryBase != Register.None && instruction.MemoryDisplSize != 0; // Iced reports a 64-bit mode disp32 as size 8

    public static bool IsPop64(in Instruction instruction) =>
        instruction.Code == Code.Pop_r64 && instruction.Op0Kind == OpKind.Register;

    /// <summary>
    /// Whether the instruction releases the fixed frame in one step, and if so whether the
    /// forward scan knows the form (null deviation) or not (the deviation's name).
    /// </summary>
    public static bool IsRelease(in Instruction instruction, int frameRegister, out string? deviation)
    {
        deviation = null;
        if (instruction.Op0Kind != OpKind.Register || instruction.Op0Register != Register.RSP)
        {
            return false;
        }

        switch (instruction.Mnemonic)
        {
            case Mnemonic.Add when IsImmediate(instruction.Op1Kind):
                return true;
            case Mnemonic.Sub when IsImmediate(instruction.Op1Kind) && (long)instruction.GetImmediate(1) < 0:
                deviation = "sub rsp, -imm";
                return true;
            case Mnemonic.Lea when instruction.MemoryIndex == Register.None:
                var baseRegister = RegisterNumber(instruction.MemoryBase);
                if (baseRegister == frameRegister && frameRegister != 0)
                {
                    return true;
                }

                deviation = instruction.MemoryBase == Register.RSP ? "lea rsp, [rsp+x] without a frame register" : $"lea rsp, [{instruction.MemoryBase.ToString().ToLowerInvariant()}+x]";
                return true;
            case Mnemonic.Mov when instruction.Op1Kind == OpKind.Register:
                deviation = $"mov rsp, {instruction.Op1Register.ToString().ToLowerInvariant()}";
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Walks back from the exit at <paramref name="exitIndex"/> over the pops and the frame release
    /// to the epilog's start, and judges it.
    /// </summary>
    public static EpilogShape Classify(IReadOnlyList<Instruction> instructions, int exitIndex, int frameRegister)
    {
        var i = exitIndex - 1;
        while (i >= 0 && IsPop64(instructions[i]))
        {
            i--;
        }

        var start = i + 1;
        string? deviation = null;
        if (i >= 0 && IsRelease(instructions[i], frameRegister, out var releaseDeviation))
        {
            start = i;
            deviation = releaseDeviation;
        }

        if (IsJumpWithDisplacementModRm(instructions[exitIndex]))
        {
            deviation ??= "tail jmp with ModRM mod 01/10";
        }

        // A restore shortly before the epilog, with only straight-line code between, means that
        // code ran on a partly restored frame where the forward scan sees no epilog.
        for (var j = start - 1; j >= 0 && j >= start - 1 - ScheduleLookBack; j--)
        {
            var candidate = instructions[j];
            if (IsPop64(candidate) || IsRelease(candidate, frameRegister, out _))
            {
                return new EpilogShape(j, exitIndex, EpilogVerdict.Broken, deviation, j + 1);
            }

            if (candidate.FlowControl != FlowControl.Next || candidate.Code == Code.INVALID)
            {
                break;
            }
        }

        return new EpilogShape(start, exitIndex, deviation is null ? EpilogVerdict.Legal : EpilogVerdict.Undocumented, deviation, null);
    }

    /// <summary>x64 register number (rax 0 ... r15 15) of a 64-bit GPR, -1 for anything else.</summary>
    public static int RegisterNumber(Register register) =>
        register >= Register.RAX && register <= Register.R15 ? register - Register.RAX : -1;

    private static bool IsImmediate(OpKind kind) => kind is OpKind.Immediate8 or OpKind.Immediate8to64 or OpKind.Immediate32to64 or OpKind.Immediate32 or OpKind.Immediate8to32;
}

/// <summary>
/// The raw bytes a block of instructions was decoded from, for the few facts Iced does not expose
/// (REX.W): an array, or a range of the image read again through a scan's reader when asked (a
/// scan keeps one and moves it from fragment to fragment with <see cref="Reset"/>).
/// </summary>
public sealed class CodeBytes
{
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly ImageReader? _reader;
    private int _maxLength;
    private int _length;

    public CodeBytes(ReadOnlyMemory<byte> bytes, ulong baseIp)
    {
        _bytes = bytes;
        BaseIp = baseIp;
        _length = bytes.Length;
    }

    /// <summary>Bytes of the image read through <paramref name="reader"/>; empty until <see cref="Reset"/>.</summary>
    public CodeBytes(ImageReader reader)
    {
        _reader = reader;
    }

    public ulong BaseIp { get; private set; }

    /// <summary>How many of the bytes are in the file.</summary>
    public int Length => _length >= 0 ? _length : _length = _reader!.GetAvailableSpan((uint)BaseIp, _maxLength).Length;

    /// <summary>Points a reader's bytes at [baseIp, baseIp+maxLength) of the image (what of it is in the file).</summary>
    public CodeBytes Reset(uint baseIp, int maxLength)
    {
        if (_reader is null)
        {
            throw new InvalidOperationException("an array's bytes cannot move");
        }

        BaseIp = baseIp;
        _maxLength = maxLength;
        _length = -1; // found on first use: most blocks are never asked
        return this;
    }

    /// <summary>Whether the instruction carries REX.W (after any legacy prefixes).</summary>
    public bool HasRexW(in Instruction instruction)
    {
        foreach (var b in Slice(instruction.IP, instruction.NextIP))
        {
            if (b is 0x66 or 0x67 or 0xF2 or 0xF3 or 0x2E or 0x3E or 0x26 or 0x36 or 0x64 or 0x65 or 0xF0)
            {
                continue;
            }

            return (b & 0xF8) == 0x48;
        }

        return false;
    }

    public string Hex(ulong fromIp, ulong toIp) => Convert.ToHexString(Slice(fromIp, toIp));

    // The bytes of [fromIp, toIp) that lie in the block.
    private ReadOnlySpan<byte> Slice(ulong fromIp, ulong toIp)
    {
        var from = (int)Math.Min(fromIp - BaseIp, (ulong)Length);
        var to = (int)Math.Min(toIp - BaseIp, (ulong)Length);
        if (to <= from)
        {
            return default;
        }

        return _reader is null ? _bytes.Span[from..to] : _reader.GetAvailableSpan((uint)(BaseIp + (ulong)from), to - from);
    }
}
