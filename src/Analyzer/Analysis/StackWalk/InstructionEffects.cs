using Iced.Intel;

namespace Pelint.Analysis.StackWalk;

/// <summary>
/// What one instruction does to a <see cref="StackState"/>: exactly for the instructions that
/// build and release frames and move stack addresses between registers (push, pop, call, leave,
/// enter, mov, lea, add/sub/and with RSP or a stack address, xchg, stores and loads of stack
/// slots), and conservatively for the rest: every register an instruction writes becomes
/// unknown, every stack slot it stores to is forgotten. Stateless.
/// </summary>
public static class InstructionEffects
{
    private const int Rsp = StackState.Rsp;

    // The volatile registers of the Windows x64 ABI: a call may change them.
    private static readonly int[] Volatile = [0, 1, 2, 8, 9, 10, 11];

    /// <summary>
    /// Applies <paramref name="instruction"/> to <paramref name="state"/>.
    /// <paramref name="keepsRax"/> says a call is to a stack probe (<c>__chkstk</c> and kin),
    /// which returns with RAX unchanged: the next instruction subtracts it from RSP.
    /// </summary>
    public static void Apply(in Instruction instruction, StackState state, bool keepsRax = false)
    {
        switch (instruction.Code)
        {
            case Code.Push_r64:
                Push(state, state[Number(instruction.Op0Register)]);
                return;
            case Code.Pushq_imm8:
            case Code.Pushq_imm32:
                Push(state, Sym.Constant((long)instruction.Immediate64));
                return;
            case Code.Push_rm64:
                Push(state, instruction.Op0Kind == OpKind.Register ? state[Number(instruction.Op0Register)] : Load(instruction, state));
                return;
            case Code.Pushfq:
                Push(state, Sym.Unknown);
                return;
            case Code.Pop_r64:
            case Code.Pop_rm64 when instruction.Op0Kind == OpKind.Register:
                Pop(state, Number(instruction.Op0Register));
                return;
            case Code.Pop_rm64:
                Forget(instruction, state);
                state.StackPointer = state.StackPointer.Add(8);
                return;
            case Code.Popfq:
                state.StackPointer = state.StackPointer.Add(8);
                return;
            case Code.Call_rel32_64 when instruction.NearBranchTarget == instruction.NextIP:
                Push(state, Sym.Unknown); // call $+5: pushes its own address, returns nowhere
                return;
            case Code.Call_rel32_64:
            case Code.Call_rm64:
                Call(state, keepsRax);
                return;
            case Code.Leaveq:
                state.StackPointer = state[5];
                Pop(state, 5);
                return;
            case Code.Enterq_imm16_imm8:
                Enter(instruction, state);
                return;
            case Code.Xchg_rm64_r64 when instruction.Op0Kind == OpKind.Register:
            case Code.Xchg_r64_RAX:
                var a = Number(instruction.Op0Register);
                var b = Number(instruction.Op1Register);
                (state[a], state[b]) = (state[b], state[a]);
                return;
        }

        switch (instruction.Mnemonic)
        {
            case Mnemonic.Mov:
                if (Mov(instruction, state))
                {
                    return;
                }

                break;
            case Mnemonic.Lea when Width(instruction.Op0Register) == 8:
                state[Number(instruction.Op0Register)] = Address(instruction, state);
                return;
            case Mnemonic.Add or Mnemonic.Sub when Width(instruction.Op0Register) == 8 && instruction.Op0Kind == OpKind.Register:
                var target = Number(instruction.Op0Register);
                if (instruction.Op1Kind == OpKind.Register && instruction.Op1Register == instruction.Op0Register && instruction.Mnemonic == Mnemonic.Sub)
                {
                    state[target] = Sym.Constant(0);
                    return;
                }

                var operand = instruction.Op1Kind == OpKind.Register ? state[Number(instruction.Op1Register)] : Immediate(instruction);
                state[target] = Arithmetic(state[target], operand, instruction.Mnemonic == Mnemonic.Sub);
                return;
            case Mnemonic.And when Width(instruction.Op0Register) is 8 or 4 && instruction.Op0Kind == OpKind.Register && IsImmediate(instruction.Op1Kind):
                var and = state[Number(instruction.Op0Register)];
                state[Number(instruction.Op0Register)] = and.Kind == SymKind.Constant ? Sym.Constant(and.Offset & (long)instruction.GetImmediate(1)) : Sym.Unknown;
                return;
            case Mnemonic.Xor when instruction.Op0Kind == OpKind.Register && instruction.Op1Kind == OpKind.Register
                && instruction.Op0Register == instruction.Op1Register && Width(instruction.Op0Register) is 8 or 4:
                state[Number(instruction.Op0Register)] = Sym.Constant(0);
                return;
        }

        Conservatively(instruction, state);
    }

    // Register facts looked up for every instruction, as tables indexed by Iced's Register
    // (Iced's own lookups cost more than the rest of the instruction's effect).
    private static readonly sbyte[] Numbers = RegisterTable(r =>
        r.GetFullRegister() is var full && full >= Register.RAX && full <= Register.R15 ? (sbyte)(full - Register.RAX) : (sbyte)-1);

    private static readonly sbyte[] Sizes = RegisterTable(r => (sbyte)Math.Min(r.GetSize(), sbyte.MaxValue));

    private static sbyte[] RegisterTable(Func<Register, sbyte> fact)
    {
        var table = new sbyte[Enum.GetValues<Register>().Max(r => (int)r) + 1];
        for (var r = 0; r < table.Length; r++)
        {
            table[r] = fact((Register)r);
        }

        return table;
    }

    /// <summary>x64 register number (rax 0 ... r15 15) of a general register of any width, -1 for anything else.</summary>
    public static int Number(Register register) => (uint)register < (uint)Numbers.Length ? Numbers[(int)register] : -1;

    /// <summary>The stack address (or other symbolic address) of an instruction's memory operand.</summary>
    public static Sym Address(in Instruction instruction, StackState state)
    {
        if (instruction.MemoryBase == Register.RIP || instruction.MemoryBase == Register.EIP || instruction.MemorySegment is Register.FS or Register.GS)
        {
            return Sym.Unknown;
        }

        var address = instruction.MemoryBase == Register.None ? Sym.Constant(0) : RegisterValue(instruction.MemoryBase, state);
        if (instruction.MemoryIndex != Register.None)
        {
            var index = RegisterValue(instruction.MemoryIndex, state);
            if (index.Kind != SymKind.Constant)
            {
                return Sym.Unknown;
            }

            address = address.Add(index.Offset * instruction.MemoryIndexScale);
        }

        return address.Add((long)instruction.MemoryDisplacement64);
    }

    private static Sym RegisterValue(Register register, StackState state) =>
        Width(register) == 8 && Number(register) is var n and >= 0 ? state[n] : Sym.Unknown;

    private static int Width(Register register) => (uint)register < (uint)Sizes.Length ? Sizes[(int)register] : 0;

    private static bool IsImmediate(OpKind kind) =>
        kind is OpKind.Immediate8 or OpKind.Immediate16 or OpKind.Immediate32 or OpKind.Immediate64 or OpKind.Immediate8to16
            or OpKind.Immediate8to32 or OpKind.Immediate8to64 or OpKind.Immediate32to64;

    private static Sym Immediate(in Instruction instruction) =>
        IsImmediate(instruction.Op1Kind) ? Sym.Constant((long)instruction.GetImmediate(1)) : Sym.Unknown;

    private static Sym Arithmetic(Sym left, Sym right, bool subtract)
    {
        if (right.Kind == SymKind.Constant)
        {
            return left.Add(subtract ? -right.Offset : right.Offset);
        }

        return !subtract && left.Kind == SymKind.Constant ? right.Add(left.Offset) : Sym.Unknown;
    }

    private static void Push(StackState state, Sym value)
    {
        var rsp = state.StackPointer.Add(-8);
        state.StackPointer = rsp;
        if (rsp.IsStack)
        {
            state.Write(rsp.Offset, value);
        }
    }

    private static void Pop(StackState state, int register)
    {
        var rsp = state.StackPointer;
        var value = state.Read(rsp);
        state.StackPointer = rsp.Add(8);
        state[register] = value; // pop rsp: the loaded value wins
    }

    private static void Call(StackState state, bool keepsRax)
    {
        foreach (var r in Volatile)
        {
            if (r != 0 || !keepsRax)
            {
                state[r] = Sym.Unknown;
            }
        }

        // The callee's return address goes below RSP and it may use its home space above.
        if (state.StackPointer.IsStack)
        {
            state.Forget(state.StackPointer.Offset - 8, state.StackPointer.Offset + 32);
        }
    }

    private static void Enter(in Instruction instruction, StackState state)
    {
        if (instruction.Immediate8_2nd != 0)
        {
            state.StackPointer = Sym.Unknown;
            state[5] = Sym.Unknown;
            return;
        }

        Push(state, state[5]);
        state[5] = state.StackPointer;
        state.StackPointer = state.StackPointer.Add(-instruction.Immediate16);
    }

    // mov: register copies, constants, 8-byte loads and stores of stack slots. False when not one of these.
    private static bool Mov(in Instruction instruction, StackState state)
    {
        if (instruction.Op0Kind == OpKind.Register)
        {
            var target = Number(instruction.Op0Register);
            var width = Width(instruction.Op0Register);
            if (target < 0 || width < 4)
            {
                return false;
            }

            if (IsImmediate(instruction.Op1Kind))
            {
                var value = (long)instruction.GetImmediate(1);
                state[target] = Sym.Constant(width == 4 ? (uint)value : value);
                return true;
            }

            if (instruction.Op1Kind == OpKind.Register)
            {
                state[target] = width == 8 ? RegisterValue(instruction.Op1Register, state) : Sym.Unknown;
                return true;
            }

            if (instruction.Op1Kind == OpKind.Memory)
            {
                state[target] = width == 8 ? Load(instruction, state) : Sym.Unknown;
                return true;
            }

            return false;
        }

        if (instruction.Op0Kind == OpKind.Memory)
        {
            var address = Address(instruction, state);
            var size = instruction.MemorySize.GetSize();
            if (!address.IsStack)
            {
                return true; // a store elsewhere: no saved register lives there
            }

            // A constant stored through another pointer than RSP (a loop clearing a buffer: lea r14,
            // [rsp+n] ... mov qword [r14+k], 0) only lands in the save area on a path the program
            // never takes (compiled code does not clear its own saved registers): the slot is
            // forgotten rather than believed to hold the constant.
            var throughRsp = instruction.MemoryBase == Register.RSP;
            var value = size != 8 ? Sym.Unknown
                : instruction.Op1Kind == OpKind.Register ? RegisterValue(instruction.Op1Register, state)
                : IsImmediate(instruction.Op1Kind) && throughRsp ? Sym.Constant((long)instruction.GetImmediate(1))
                : Sym.Unknown;
            state.Forget(address.Offset, address.Offset + size);
            state.Write(address.Offset, value);
            return true;
        }

        return false;
    }

    private static Sym Load(in Instruction instruction, StackState state) =>
        instruction.MemorySize.GetSize() == 8 ? state.Read(Address(instruction, state)) : Sym.Unknown;

    private static void Forget(in Instruction instruction, StackState state)
    {
        var address = Address(instruction, state);
        if (address.IsStack)
        {
            state.Forget(address.Offset, address.Offset + Math.Max(1, instruction.MemorySize.GetSize()));
        }
    }

    // Anything else: what it writes is unknown afterwards. Written registers come from the
    // operands and a short list of instructions with implicit ones; an instruction that only
    // reads its first operand (cmp, test, bt) changes nothing.
    private static void Conservatively(in Instruction instruction, StackState state)
    {
        var mnemonic = instruction.Mnemonic;
        if (mnemonic is Mnemonic.Cmp or Mnemonic.Test or Mnemonic.Bt or Mnemonic.Nop or Mnemonic.Prefetchnta or Mnemonic.Prefetcht0
            or Mnemonic.Prefetcht1 or Mnemonic.Prefetcht2 or Mnemonic.Prefetchw or Mnemonic.Clflush or Mnemonic.Clflushopt)
        {
            return;
        }

        if (instruction.OpCount > 0)
        {
            switch (instruction.Op0Kind)
            {
                case OpKind.Register:
                    Clobber(state, instruction.Op0Register);
                    break;
                case OpKind.Memory:
                    Forget(instruction, state);
                    break;
            }
        }

        switch (mnemonic)
        {
            case Mnemonic.Xchg or Mnemonic.Xadd or Mnemonic.Mulx when instruction.OpCount > 1 && instruction.Op1Kind == OpKind.Register:
                Clobber(state, instruction.Op1Register);
                break;
            case Mnemonic.Mul or Mnemonic.Div or Mnemonic.Idiv or Mnemonic.Cwd or Mnemonic.Cdq or Mnemonic.Cqo or Mnemonic.Rdtsc or Mnemonic.Rdpkru
                or Mnemonic.Xgetbv or Mnemonic.Rdmsr or Mnemonic.Rdpmc or Mnemonic.Cmpxchg8b or Mnemonic.Cmpxchg16b:
                state[0] = Sym.Unknown;
                state[2] = Sym.Unknown;
                break;
            case Mnemonic.Imul when instruction.OpCount == 1:
                state[0] = Sym.Unknown;
                state[2] = Sym.Unknown;
                break;
            case Mnemonic.Rdtscp:
                state[0] = Sym.Unknown;
                state[1] = Sym.Unknown;
                state[2] = Sym.Unknown;
                break;
            case Mnemonic.Cpuid:
                state[0] = Sym.Unknown;
                state[1] = Sym.Unknown;
                state[2] = Sym.Unknown;
                state[3] = Sym.Unknown;
                break;
            case Mnemonic.Cbw or Mnemonic.Cwde or Mnemonic.Cdqe or Mnemonic.Lahf or Mnemonic.Cmpxchg or Mnemonic.In or Mnemonic.Insb or Mnemonic.Xlatb
                or Mnemonic.Lodsb or Mnemonic.Lodsw or Mnemonic.Lodsd or Mnemonic.Lodsq:
                state[0] = Sym.Unknown;
                StringRegisters(instruction, state);
                break;
            case Mnemonic.Syscall:
                state[0] = Sym.Unknown;
                state[1] = Sym.Unknown;
                state[11] = Sym.Unknown;
                break;
            case Mnemonic.Loop or Mnemonic.Loope or Mnemonic.Loopne:
                state[1] = Sym.Unknown;
                break;
            default:
                StringRegisters(instruction, state);
                break;
        }
    }

    // movs, stos, scas, cmps (and lods above) advance rsi/rdi and, with rep, count rcx down.
    private static void StringRegisters(in Instruction instruction, StackState state)
    {
        if (!instruction.IsStringInstruction)
        {
            return;
        }

        state[6] = Sym.Unknown;
        state[7] = Sym.Unknown;
        if (instruction.HasRepPrefix || instruction.HasRepnePrefix)
        {
            state[1] = Sym.Unknown;
        }
    }

    private static void Clobber(StackState state, Register register)
    {
        if (Number(register) is var n and >= 0)
        {
            state[n] = Sym.Unknown;
        }
    }
}
