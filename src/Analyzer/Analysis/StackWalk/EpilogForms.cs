using Iced.Intel;

namespace Pelint.Analysis.StackWalk;

/// <summary>
/// Epilog instructions the documented x64 form does not list, though the unwinder copes with
/// them: a frame released in one instruction other than <c>add rsp, imm</c> or
/// <c>lea rsp, [FrameReg+disp]</c>, and a tail jump through a memory operand with a displacement.
/// </summary>
public static class EpilogForms
{
    /// <summary>The form's name when <paramref name="instruction"/> releases the frame in an undocumented way.</summary>
    public static string? UndocumentedRelease(in Instruction instruction, int frameRegister)
    {
        if (instruction.Op0Kind != OpKind.Register || instruction.Op0Register != Register.RSP)
        {
            return null;
        }

        return instruction.Mnemonic switch
        {
            Mnemonic.Mov when instruction.Op1Kind == OpKind.Register => $"mov rsp, {Name(instruction.Op1Register)}",
            Mnemonic.Sub when instruction.Op1Kind != OpKind.Register && (long)instruction.GetImmediate(1) < 0 => "sub rsp, -imm",
            Mnemonic.Lea when instruction.MemoryBase == Register.RSP => "lea rsp, [rsp+x] without a frame register",
            Mnemonic.Lea when instruction.MemoryIndex != Register.None || InstructionEffects.Number(instruction.MemoryBase) != frameRegister
                => $"lea rsp, [{Name(instruction.MemoryBase)}+x]",
            _ => null,
        };
    }

    /// <summary>The form's name when <paramref name="jump"/> is a tail jump through ModRM mod 01 or 10 (a base register and a displacement).</summary>
    public static string? UndocumentedJump(in Instruction jump) =>
        jump.Code == Code.Jmp_rm64 && jump.Op0Kind == OpKind.Memory && !jump.IsIPRelativeMemoryOperand && jump.MemoryBase != Register.None
            && jump.MemoryDisplSize != 0
            ? "tail jmp with ModRM mod 01/10"
            : null;

    private static string Name(Register register) => register.ToString().ToLowerInvariant();
}
