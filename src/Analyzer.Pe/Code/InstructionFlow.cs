using System.Buffers.Binary;
using Iced.Intel;
using IcedCode = Iced.Intel.Code;

namespace Pelint.Pe.Code;

/// <summary>Where control goes after an instruction, as a walk that only follows control needs it.</summary>
public enum FlowKind : byte
{
    /// <summary>On to the next instruction (also a call whose target is not known, syscall, int n).</summary>
    Next,

    /// <summary>ret, ret imm16.</summary>
    Return,

    /// <summary>jmp to <see cref="InstructionFlow.Target"/>.</summary>
    Jump,

    /// <summary>jcc, loop, jrcxz, xbegin: to <see cref="InstructionFlow.Target"/> or on.</summary>
    ConditionalJump,

    /// <summary>jmp through a register or memory (<see cref="InstructionFlow.Slot"/> when the memory is RIP-relative).</summary>
    IndirectJump,

    /// <summary>call <see cref="InstructionFlow.Target"/>.</summary>
    Call,

    /// <summary>call through RIP-relative memory, <see cref="InstructionFlow.Slot"/> (an import's IAT slot, most often).</summary>
    SlotCall,

    /// <summary>int3, int1, int 29h (fail fast), ud2, hlt: the path ends here.</summary>
    Stop,
}

/// <summary>
/// An instruction measured for control flow only: its length, where it goes and, for a call or
/// jump through RIP-relative memory, the slot it reads. From <see cref="InstructionLength"/> and
/// a look at the opcode where that table answers (most instructions), else from Iced's decode.
/// </summary>
public readonly record struct InstructionFlow(int Length, FlowKind Kind, ulong Target, uint Slot)
{
    /// <summary>
    /// The flow of the instruction at the start of <paramref name="code"/> at <paramref name="ip"/>
    /// without Iced, or false when the table does not measure it or it has prefixes before a
    /// control-transfer opcode (a bnd or operand-size prefix, a call or jump through memory):
    /// then decode it and use <see cref="From(in Instruction)"/>. A test holds the two to the same
    /// answers over every function of the runtime pack's DLLs.
    /// </summary>
    public static bool TryMeasure(ReadOnlySpan<byte> code, ulong ip, out InstructionFlow flow)
    {
        flow = default;
        var length = InstructionLength.Of(code, out _);
        if (length == 0)
        {
            return false;
        }

        var next = ip + (ulong)length;
        var opcode = code[0];
        switch (opcode)
        {
            case 0xC3 or 0xC2:
                flow = new InstructionFlow(length, FlowKind.Return, 0, 0);
                return true;
            case >= 0x70 and <= 0x7F:
                flow = new InstructionFlow(length, FlowKind.ConditionalJump, next + (ulong)(sbyte)code[1], 0);
                return true;
            case 0xEB:
                flow = new InstructionFlow(length, FlowKind.Jump, next + (ulong)(sbyte)code[1], 0);
                return true;
            case 0xE9 or 0xE8:
                flow = new InstructionFlow(length, opcode == 0xE9 ? FlowKind.Jump : FlowKind.Call, next + (ulong)(long)BinaryPrimitives.ReadInt32LittleEndian(code[1..]), 0);
                return true;
            case 0xCC or 0xF4:
                flow = new InstructionFlow(length, FlowKind.Stop, 0, 0);
                return true;
            case 0xCD:
                flow = new InstructionFlow(length, code[1] == 0x29 ? FlowKind.Stop : FlowKind.Next, 0, 0);
                return true;
            case 0x0F when code[1] is >= 0x80 and <= 0x8F:
                flow = new InstructionFlow(length, FlowKind.ConditionalJump, next + (ulong)(long)BinaryPrimitives.ReadInt32LittleEndian(code[2..]), 0);
                return true;
            case 0x0F when code[1] == 0x0B:
                flow = new InstructionFlow(length, FlowKind.Stop, 0, 0);
                return true;
            case 0xFF when ((code[1] >> 3) & 7) is 2 or 3 or 4 or 5:
                return false; // through memory or a register: Iced tells which
        }

        // Past a prefix or REX: anything that transfers control is left to Iced.
        for (var i = 0; i < length; i++)
        {
            var b = code[i];
            if (b is 0x26 or 0x2E or 0x36 or 0x3E or 0x64 or 0x65 or 0x66 or 0x67 or 0xF2 or 0xF3 or (>= 0x40 and <= 0x4F))
            {
                continue;
            }

            if (i > 0 && (b is 0xC3 or 0xC2 or 0xEB or 0xE9 or 0xE8 or 0xCC or 0xCD or 0xF4 or (>= 0x70 and <= 0x7F) ||
                (b == 0x0F && code[i + 1] is 0x0B or (>= 0x80 and <= 0x8F)) || (b == 0xFF && ((code[i + 1] >> 3) & 7) is 2 or 3 or 4 or 5)))
            {
                return false;
            }

            break;
        }

        flow = new InstructionFlow(length, FlowKind.Next, 0, 0);
        return true;
    }

    /// <summary>The flow of an instruction Iced decoded (valid: check <see cref="Instruction.IsInvalid"/> first).</summary>
    public static InstructionFlow From(in Instruction instruction)
    {
        var length = instruction.Length;
        var slot = instruction.Op0Kind == OpKind.Memory && instruction.IsIPRelativeMemoryOperand ? (uint)instruction.IPRelativeMemoryAddress : 0;
        return instruction.FlowControl switch
        {
            FlowControl.Return => new InstructionFlow(length, FlowKind.Return, 0, 0),
            FlowControl.UnconditionalBranch => new InstructionFlow(length, FlowKind.Jump, instruction.NearBranchTarget, 0),
            FlowControl.ConditionalBranch => new InstructionFlow(length, FlowKind.ConditionalJump, instruction.NearBranchTarget, 0),
            FlowControl.IndirectBranch => new InstructionFlow(length, FlowKind.IndirectJump, 0, slot),
            FlowControl.Call or FlowControl.IndirectCall when instruction.Op0Kind == OpKind.Memory && instruction.IsIPRelativeMemoryOperand =>
                new InstructionFlow(length, FlowKind.SlotCall, 0, slot),
            FlowControl.Call or FlowControl.IndirectCall when instruction.Op0Kind == OpKind.NearBranch64 =>
                new InstructionFlow(length, FlowKind.Call, instruction.NearBranchTarget, 0),
            FlowControl.Interrupt when instruction.Code is IcedCode.Int3 or IcedCode.Int1 || (instruction.Code == IcedCode.Int_imm8 && instruction.Immediate8 == 0x29) =>
                new InstructionFlow(length, FlowKind.Stop, 0, 0),
            FlowControl.Exception => new InstructionFlow(length, FlowKind.Stop, 0, 0),
            _ when instruction.Code == IcedCode.Hlt => new InstructionFlow(length, FlowKind.Stop, 0, 0),
            _ => new InstructionFlow(length, FlowKind.Next, 0, 0),
        };
    }
}
