namespace Pelint.Pe.Code;

/// <summary>What a scan may need to look at more closely in an instruction it only measured.</summary>
[Flags]
public enum LengthHints : byte
{
    None = 0,

    /// <summary>ret, ret imm16, jmp rel8/rel32 or jmp r/m: an instruction that may leave the function.</summary>
    ExitCandidate = 1,

    /// <summary>A memory operand with an index register (SIB): it may index a switch table.</summary>
    IndexedMemory = 2,

    /// <summary>
    /// Of those, one with a 32-bit displacement and scale 1 or 4, the form MSVC indexes a switch
    /// table with (<c>mov ecx, [rdx+rax*4+table]</c>); the others cannot reach a table at an RVA
    /// past 127.
    /// </summary>
    IndexedDisplacement32 = 4,
}

/// <summary>
/// The length of common x64 instructions from a table, without decoding their operands: the
/// epilog scan needs every instruction's boundary but the operands of only a few. It answers only
/// for encodings whose length and validity do not depend on anything it does not track (the
/// one-byte map, jcc/setcc/cmovcc/movzx and a few other two-byte opcodes); for everything else
/// (SSE/VEX/EVEX, x87, system, lock, moffs, ...) it returns 0 and the caller asks Iced. A test
/// holds it to Iced's lengths over every function of the runtime pack's DLLs.
/// </summary>
public static class InstructionLength
{
    private const int MaxLength = 15;

    // One-byte map operand shapes.
    private const byte X = 0;     // not handled
    private const byte N = 1;     // nothing after the opcode
    private const byte M = 2;     // ModRM
    private const byte MB = 3;    // ModRM, imm8
    private const byte MZ = 4;    // ModRM, imm16/32
    private const byte B = 5;     // imm8
    private const byte Z = 6;     // imm16/32
    private const byte W = 7;     // imm16
    private const byte V = 8;     // B8+r: imm16/32/64
    private const byte G3 = 9;    // F6/F7: ModRM, and an immediate for TEST (/0)
    private const byte J8 = 10;   // rel8
    private const byte J32 = 11;  // rel32 (not with 66: Intel and AMD disagree)
    private const byte P = 12;    // legacy prefix
    private const byte R = 13;    // REX
    private const byte E = 14;    // 0F escape

    private static readonly byte[] OneByte =
    [
        // 0x00
        M, M, M, M, B, Z, X, X, M, M, M, M, B, Z, X, E,
        // 0x10
        M, M, M, M, B, Z, X, X, M, M, M, M, B, Z, X, X,
        // 0x20
        M, M, M, M, B, Z, P, X, M, M, M, M, B, Z, P, X,
        // 0x30
        M, M, M, M, B, Z, P, X, M, M, M, M, B, Z, P, X,
        // 0x40
        R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
        // 0x50
        N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N,
        // 0x60
        X, X, X, M, P, P, P, P, Z, MZ, B, MB, X, X, X, X,
        // 0x70
        J8, J8, J8, J8, J8, J8, J8, J8, J8, J8, J8, J8, J8, J8, J8, J8,
        // 0x80
        MB, MZ, X, MB, M, M, M, M, M, M, M, M, X, M, X, M,
        // 0x90
        N, N, N, N, N, N, N, N, N, N, X, N, N, N, N, N,
        // 0xA0
        X, X, X, X, X, X, X, X, B, Z, X, X, X, X, X, X,
        // 0xB0
        B, B, B, B, B, B, B, B, V, V, V, V, V, V, V, V,
        // 0xC0
        MB, MB, W, N, X, X, MB, MZ, X, N, X, X, N, B, X, X,
        // 0xD0
        M, M, M, M, X, X, X, X, X, X, X, X, X, X, X, X,
        // 0xE0
        X, X, X, X, X, X, X, X, J32, J32, X, J8, X, X, X, X,
        // 0xF0
        X, X, P, P, N, N, G3, G3, N, N, N, N, N, N, M, M,
    ];

    /// <summary>
    /// The length of the instruction at the start of <paramref name="code"/>, or 0 when it is not
    /// one this table measures (or does not fit in <paramref name="code"/>): decode it with Iced.
    /// </summary>
    public static int Of(ReadOnlySpan<byte> code, out LengthHints hints)
    {
        hints = LengthHints.None;
        var i = 0;
        var operand16 = false;
        var rexW = false;
        var rexX = false;
        byte shape;
        byte opcode;

        // Legacy prefixes, then at most one REX right before the opcode.
        while (true)
        {
            if (i >= code.Length || i >= MaxLength)
            {
                return 0;
            }

            opcode = code[i];
            shape = OneByte[opcode];
            if (shape == P)
            {
                operand16 |= opcode == 0x66;
                i++;
                continue;
            }

            if (shape == R)
            {
                // A REX followed by anything but the opcode is ignored or invalid: leave it to Iced.
                if (i + 1 >= code.Length || OneByte[code[i + 1]] is P or R)
                {
                    return 0;
                }

                rexW = (opcode & 8) != 0;
                rexX = (opcode & 2) != 0;
                i++;
                opcode = code[i];
                shape = OneByte[opcode];
            }

            break;
        }

        i++; // the opcode
        var immediate = 0;
        var modRm = false;
        switch (shape)
        {
            case N:
                if (opcode == 0xC3)
                {
                    hints = LengthHints.ExitCandidate;
                }

                break;
            case M:
                modRm = true;
                break;
            case MB:
                modRm = true;
                immediate = 1;
                break;
            case MZ:
                modRm = true;
                immediate = operand16 && !rexW ? 2 : 4;
                break;
            case B:
                immediate = 1;
                break;
            case Z:
                immediate = operand16 && !rexW ? 2 : 4;
                break;
            case W:
                immediate = 2;
                hints = LengthHints.ExitCandidate; // C2: ret imm16
                break;
            case V:
                immediate = rexW ? 8 : operand16 ? 2 : 4;
                break;
            case G3:
                modRm = true;
                break;
            case J8 or J32:
                if (operand16)
                {
                    return 0;
                }

                immediate = shape == J8 ? 1 : 4;
                hints = opcode is 0xEB or 0xE9 ? LengthHints.ExitCandidate : LengthHints.None; // jmp; jcc, call and loop stay inside
                break;
            case E:
                return TwoByte(code, i, operand16, rexX, ref hints);
            default:
                return 0;
        }

        if (modRm)
        {
            if (i >= code.Length)
            {
                return 0;
            }

            var reg = (code[i] >> 3) & 7;
            var mod = code[i] >> 6;
            switch (opcode)
            {
                // Encodings whose validity depends on the reg field or mod (a group's unused
                // slots, lea of a register, ...): only the plainly valid ones are measured here.
                case 0x8D when mod == 3:
                case 0x8F or 0xC6 or 0xC7 when reg != 0:
                case 0xFE when reg > 1:
                case 0xFF when reg == 7 || (reg is 3 or 5 && mod == 3):
                case 0xC0 or 0xC1 or 0xD0 or 0xD1 or 0xD2 or 0xD3 when reg == 6:
                case 0xF6 or 0xF7 when reg == 1:
                    return 0;
                case 0xF6 when reg == 0:
                    immediate = 1;
                    break;
                case 0xF7 when reg == 0:
                    immediate = operand16 && !rexW ? 2 : 4;
                    break;
                case 0xFF when reg == 4:
                    hints = LengthHints.ExitCandidate; // jmp r/m64
                    break;
            }

            var modRmLength = ModRmLength(code, i, rexX, ref hints);
            if (modRmLength == 0)
            {
                return 0;
            }

            i += modRmLength;
        }

        i += immediate;
        return i <= MaxLength && i <= code.Length ? i : 0;
    }

    // 0F xx: conditional jumps, setcc, cmovcc, movzx/movsx, imul, bt*, shld/shrd, cmpxchg, xadd, bswap, nop r/m.
    private static int TwoByte(ReadOnlySpan<byte> code, int i, bool operand16, bool rexX, ref LengthHints hints)
    {
        if (i >= code.Length)
        {
            return 0;
        }

        var opcode = code[i++];
        var immediate = 0;
        switch (opcode)
        {
            case >= 0x80 and <= 0x8F: // jcc rel32
                if (operand16)
                {
                    return 0;
                }

                i += 4;
                return i <= MaxLength && i <= code.Length ? i : 0;
            case >= 0xC8 and <= 0xCF: // bswap
            case 0x05 or 0x0B or 0xA2: // syscall, ud2, cpuid
                return i <= MaxLength && i <= code.Length ? i : 0;
            case >= 0x40 and <= 0x4F: // cmovcc
            case >= 0x90 and <= 0x9F: // setcc
            case 0xA3 or 0xAB or 0xB3 or 0xBB or 0xA5 or 0xAD or 0xAF or 0xB0 or 0xB1 or 0xB6 or 0xB7 or 0xBE or 0xBF or 0xBC or 0xBD or 0xC0 or 0xC1:
                break;
            case 0xA4 or 0xAC: // shld/shrd imm8
                immediate = 1;
                break;
            case 0x1F: // nop r/m (only /0 is plainly a NOP)
                if (i >= code.Length || ((code[i] >> 3) & 7) != 0)
                {
                    return 0;
                }

                break;
            default:
                return 0;
        }

        var modRmLength = ModRmLength(code, i, rexX, ref hints);
        if (modRmLength == 0)
        {
            return 0;
        }

        i += modRmLength + immediate;
        return i <= MaxLength && i <= code.Length ? i : 0;
    }

    // ModRM, SIB and displacement bytes; 0 when they run past the code.
    private static int ModRmLength(ReadOnlySpan<byte> code, int i, bool rexX, ref LengthHints hints)
    {
        if (i >= code.Length)
        {
            return 0;
        }

        var modRm = code[i];
        var mod = modRm >> 6;
        var rm = modRm & 7;
        if (mod == 3)
        {
            return 1;
        }

        var length = 1;
        if (rm == 4)
        {
            if (i + 1 >= code.Length)
            {
                return 0;
            }

            var sib = code[i + 1];
            length++;
            if (((sib >> 3) & 7) != 4 || rexX)
            {
                hints |= LengthHints.IndexedMemory;
                if ((mod == 2 || (mod == 0 && (sib & 7) == 5)) && (sib >> 6) is 0 or 2)
                {
                    hints |= LengthHints.IndexedDisplacement32;
                }
            }

            if (mod == 0 && (sib & 7) == 5)
            {
                length += 4;
            }
        }
        else if (mod == 0 && rm == 5)
        {
            length += 4; // RIP-relative
        }

        length += mod switch
        {
            1 => 1,
            2 => 4,
            _ => 0,
        };
        return length;
    }
}
