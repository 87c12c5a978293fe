using System.Buffers.Binary;
using Iced.Intel;
using Pelint.Pe;
using Pelint.Pe.IO;

namespace Pelint.Analysis.StackWalk;

/// <summary>
/// The targets of a switch's indirect jump, read from its table as data, so that code discovery
/// follows every case and never decodes the table. The shapes compilers emit, found by
/// evaluating the straight-line instructions before the jump:
/// <list type="bullet">
/// <item>MSVC: <c>lea rdx,[__ImageBase]; mov ecx,[rdx+rax*4+table]; add rcx,rdx; jmp rcx</c> (entries are RVAs),
/// sometimes through a byte table of case numbers first;</item>
/// <item>LLVM and GCC: <c>lea rcx,[rip+table]; movsxd rax,[rcx+rax*4]; add rax,rcx; jmp rax</c> (entries are offsets from the table);</item>
/// <item>absolute tables: <c>jmp [table+rax*8]</c> (entries are addresses, relocated from the preferred base).</item>
/// </list>
/// A table is only read when its length is known from the bounds check before it
/// (<c>cmp index, n</c> then <c>ja</c>): tables sit next to other data, and a target read past
/// the end would send discovery into bytes that are not code.
/// </summary>
public sealed class JumpTables
{
    /// <summary>No switch a compiler wrote has more cases.</summary>
    public const int MaxEntries = 4096;

    private readonly ulong _imageBase;
    private readonly ImageReader _reader;
    private readonly List<uint> _targets = [];

    /// <summary>Tables are read through <paramref name="reader"/>, which the caller owns (each read is used before the next).</summary>
    public JumpTables(PeImage image, ImageReader reader)
    {
        ArgumentNullException.ThrowIfNull(image);
        _imageBase = image.ImageBase;
        _reader = reader;
    }

    // What a register holds, as far as a table lookup cares.
    private readonly record struct Expression(ExpressionKind Kind, long Table, long Base, bool Signed, int BaseRegister, int Count);

    private enum ExpressionKind : byte
    {
        Unknown,

        /// <summary>The image address of the RVA <c>Base</c>.</summary>
        ImageAddress,

        /// <summary>An entry loaded from a table at RVA <c>Table</c> of <c>Count</c> entries (-1: unknown); <c>BaseRegister</c> held the image base when it was not seen loaded.</summary>
        Entry,

        /// <summary>The image address <c>Base</c> plus an entry of the table at <c>Table</c>: the jump target.</summary>
        Target,
    }

    /// <summary>
    /// The targets of the indirect jump <paramref name="jump"/>, given the instructions of its
    /// straight-line run before it (oldest first); empty when the shape is not recognised.
    /// </summary>
    public IReadOnlyList<uint> Resolve(ReadOnlySpan<Instruction> before, in Instruction jump, FunctionLayout function)
    {
        _targets.Clear();
        Span<Expression> registers = stackalloc Expression[16];
        Span<long> bounds = stackalloc long[16];
        bounds.Fill(-1);

        // lows[r]: the least value r can hold (a fall-through of `jb`/`jbe`), so that a low byte
        // taken of r is known exactly when r's range stays within one 256-value block.
        Span<long> lows = stackalloc long[16];

        // copies[r]: the register r was last copied or zero/sign-extended from (movzx ecx, dx), while
        // that one is unchanged: a bounds check of either is a bound of both.
        Span<int> copies = stackalloc int[16];
        copies.Fill(-1);

        // signClear[r]: the low byte of r is known not negative (`test cl,cl` then not `js`).
        Span<bool> signClear = stackalloc bool[16];

        // byteValue[r]: r holds a zero-extended byte (movzx r32, r8).
        Span<bool> byteValue = stackalloc bool[16];
        var compared = -1;
        long comparedWith = -1;
        var testedByte = -1;
        foreach (var instruction in before)
        {
            if (instruction.Mnemonic == Mnemonic.Test)
            {
                // Writes only the flags: `test r8, r8` sets SF from the byte's top bit.
                testedByte = instruction.Op0Kind == OpKind.Register && instruction.Op1Kind == OpKind.Register && instruction.Op0Register == instruction.Op1Register
                    && instruction.Op0Register.GetSize() == 1 ? InstructionEffects.Number(instruction.Op0Register) : -1;
                compared = -1;
                continue;
            }

            if (instruction.Mnemonic == Mnemonic.Cmp && instruction.Op0Kind == OpKind.Register && instruction.Op1Kind is OpKind.Immediate8 or OpKind.Immediate32
                or OpKind.Immediate8to32 or OpKind.Immediate8to64 or OpKind.Immediate32to64 or OpKind.Immediate16 or OpKind.Immediate8to16)
            {
                compared = InstructionEffects.Number(instruction.Op0Register);
                comparedWith = (long)instruction.GetImmediate(1);
                continue;
            }

            if (instruction.FlowControl == FlowControl.ConditionalBranch)
            {
                // Falling through `ja`/`jae` (or their signed kin) bounds the compared register.
                if (compared >= 0 && comparedWith >= 0 && comparedWith < MaxEntries)
                {
                    var bound = instruction.ConditionCode switch
                    {
                        ConditionCode.a or ConditionCode.g => comparedWith,
                        ConditionCode.ae or ConditionCode.ge when comparedWith > 0 => comparedWith - 1,
                        _ => -1,
                    };
                    if (bound >= 0)
                    {
                        bounds[compared] = bound;
                        for (var r = 0; r < 16; r++)
                        {
                            if (copies[r] == compared)
                            {
                                bounds[r] = bounds[r] < 0 ? bound : Math.Min(bounds[r], bound);
                            }
                        }
                    }

                    var low = instruction.ConditionCode switch
                    {
                        ConditionCode.b => comparedWith,
                        ConditionCode.be => comparedWith + 1,
                        _ => -1,
                    };
                    if (low > 0)
                    {
                        for (var r = 0; r < 16; r++)
                        {
                            if (r == compared || copies[r] == compared)
                            {
                                lows[r] = Math.Max(lows[r], low);
                            }
                        }
                    }
                }

                // Falling through `js` after `test r8, r8`: the byte is 0..0x7F, in every copy of it too.
                if (testedByte >= 0 && instruction.ConditionCode == ConditionCode.s)
                {
                    for (var r = 0; r < 16; r++)
                    {
                        if (r == testedByte || copies[r] == testedByte || copies[testedByte] == r)
                        {
                            signClear[r] = true;

                            // A zero-extended byte tested so is a switch index of 0..0x7F.
                            if (byteValue[r])
                            {
                                bounds[r] = bounds[r] < 0 ? 0x7F : Math.Min(bounds[r], 0x7F);
                            }
                        }
                    }
                }

                compared = -1;
                testedByte = -1;
                continue;
            }

            Step(instruction, registers, bounds, lows, copies, signClear, byteValue);

            if (instruction.RflagsModified != RflagsBits.None)
            {
                // The flags a later branch reads are no longer those of the compare.
                compared = -1;
                testedByte = -1;
            }
        }

        if (jump.Op0Kind == OpKind.Register && InstructionEffects.Number(jump.Op0Register) is var register and >= 0)
        {
            if (registers[register] is { Kind: ExpressionKind.Target, Count: > 0 } value)
            {
                ReadRelative(value, function);
            }
        }
        else if (jump.Op0Kind == OpKind.Memory && jump.MemoryIndexScale == 8 && jump.MemoryBase != Register.RIP
            && InstructionEffects.Number(jump.MemoryIndex) is var index and >= 0 && bounds[index] >= 0)
        {
            // jmp [base+index*8+disp]: a table of addresses.
            var baseRegister = InstructionEffects.Number(jump.MemoryBase);
            var table = jump.MemoryBase == Register.None ? (long)jump.MemoryDisplacement64 - (long)_imageBase
                : baseRegister >= 0 && registers[baseRegister].Kind == ExpressionKind.ImageAddress ? registers[baseRegister].Base + (long)jump.MemoryDisplacement64
                : -1;
            if (table >= 0)
            {
                ReadAbsolute(table, (int)bounds[index] + 1, function);
            }
        }

        return _targets;
    }

    private void Step(in Instruction instruction, Span<Expression> registers, Span<long> bounds, Span<long> lows, Span<int> copies, Span<bool> signClear, Span<bool> byteValue)
    {
        if (instruction.Op0Kind != OpKind.Register || InstructionEffects.Number(instruction.Op0Register) is not (var target and >= 0))
        {
            return;
        }

        var width = instruction.Op0Register.GetSize();
        var source = instruction.Op1Kind == OpKind.Register ? InstructionEffects.Number(instruction.Op1Register) : -1;

        // The target changes: copies of it no longer are; it is a copy of the source only after a move.
        for (var r = 0; r < 16; r++)
        {
            if (copies[r] == target)
            {
                copies[r] = -1;
            }
        }

        if (source != target)
        {
            copies[target] = source >= 0 && (instruction.Mnemonic is Mnemonic.Movsxd or Mnemonic.Movzx || (instruction.Mnemonic == Mnemonic.Mov && width >= 4)) ? source : -1;
        }
        else if (instruction.Mnemonic is not (Mnemonic.Mov or Mnemonic.Movsxd or Mnemonic.Movzx))
        {
            copies[target] = -1; // widening the register itself keeps whose copy it is
        }

        // A zero-extended byte or word of a bounded value: exact when the value's range stays within
        // one block of 256 (65536) values, else at most 0xFF (0xFFFF); a byte tested not negative is
        // at most 0x7F. Never a bound of its own: a table is read only after a bounds check.
        var extends = source >= 0 && instruction.Mnemonic is Mnemonic.Mov or Mnemonic.Movsxd or Mnemonic.Movzx;
        var (low, high) = source >= 0 ? (lows[source], bounds[source]) : (0L, -1L);
        if (extends && instruction.Mnemonic == Mnemonic.Movzx && instruction.Op1Register.GetSize() is var bytes and < 4)
        {
            var bits = 8 * bytes;
            var mask = (1L << bits) - 1;
            (low, high) = high < 0 ? (0, -1)
                : (low >> bits) == (high >> bits) ? (low & mask, high & mask)
                : (0, mask);
            if (bytes == 1 && signClear[source] && high >= 0)
            {
                high = Math.Min(high, 0x7F);
            }
        }

        signClear[target] = extends && signClear[source];

        // A zero-extended byte (movzx r32, r8 or byte [m]), or a 32/64-bit move or zero-extension of one.
        var wide = width >= 4 && instruction.Mnemonic is Mnemonic.Mov or Mnemonic.Movzx;
        var fromByte = wide && instruction.Mnemonic == Mnemonic.Movzx
            && (instruction.Op1Kind == OpKind.Register ? instruction.Op1Register.GetSize() : instruction.MemorySize.GetSize()) == 1;
        byteValue[target] = fromByte || (wide && source >= 0 && byteValue[source]);

        // Widening the index itself (mov eax, eax; movsxd rax, eax) keeps its bound.
        if (source == target && extends)
        {
            bounds[target] = high;
            lows[target] = low;
            return;
        }

        // Widening it into another register (MSVC: movsxd rax, ecx; a 32-bit mov) carries the bound there.
        if (source >= 0 && (instruction.Mnemonic is Mnemonic.Movsxd or Mnemonic.Movzx || (instruction.Mnemonic == Mnemonic.Mov && width == 4)))
        {
            registers[target] = default;
            bounds[target] = high;
            lows[target] = low;
            return;
        }

        lows[target] = instruction.Mnemonic == Mnemonic.Mov && width == 8 && source >= 0 ? lows[source] : 0;

        var bound = -1L;
        var value = default(Expression);
        switch (instruction.Mnemonic)
        {
            case Mnemonic.Lea when instruction.IsIPRelativeMemoryOperand && width == 8:
                value = new Expression(ExpressionKind.ImageAddress, 0, (long)instruction.IPRelativeMemoryAddress, false, -1, -1);
                break;
            case Mnemonic.Mov or Mnemonic.Movsxd when instruction.Op1Kind == OpKind.Memory && instruction.MemoryIndexScale == 4
                && instruction.MemoryIndex != Register.None && instruction.MemorySize.GetSize() == 4:
                var baseRegister = InstructionEffects.Number(instruction.MemoryBase);
                var displacement = (long)instruction.MemoryDisplacement64;
                var signed = instruction.Mnemonic == Mnemonic.Movsxd;
                var count = InstructionEffects.Number(instruction.MemoryIndex) is var i and >= 0 && bounds[i] >= 0 ? (int)bounds[i] + 1 : -1;
                value = baseRegister >= 0 && registers[baseRegister].Kind == ExpressionKind.ImageAddress
                    ? new Expression(ExpressionKind.Entry, registers[baseRegister].Base + displacement, 0, signed, -1, count)
                    : baseRegister >= 0 && displacement is > 0 and <= uint.MaxValue
                        ? new Expression(ExpressionKind.Entry, displacement, 0, signed, baseRegister, count) // MSVC, the image base loaded earlier
                        : default;
                break;
            case Mnemonic.Movzx when instruction.Op1Kind == OpKind.Memory && instruction.MemorySize.GetSize() == 1 && instruction.MemoryIndexScale == 1
                && ByteTableIndex(instruction, bounds) is var (byteIndex, tableBase):
                // MSVC's byte table of case numbers: the case number is at most its largest entry.
                bound = LargestByte(instruction, tableBase, registers, (int)bounds[byteIndex] + 1);
                break;
            case Mnemonic.Add when width == 8 && source >= 0:
                value = Sum(registers[target], registers[source], source);
                break;
            case Mnemonic.Mov when width == 8 && source >= 0:
                value = registers[source];
                bound = bounds[source];
                break;
        }

        registers[target] = value;
        bounds[target] = bound;
    }

    // [base+index*1+disp]: the bounded register of the two is the index (MSVC writes either
    // order), the other one, if any, holds the image base. Null when neither is bounded.
    private static (int Index, int Base)? ByteTableIndex(in Instruction load, Span<long> bounds)
    {
        var index = InstructionEffects.Number(load.MemoryIndex);
        var @base = InstructionEffects.Number(load.MemoryBase);
        if (index >= 0 && bounds[index] >= 0)
        {
            return (index, @base);
        }

        return @base >= 0 && bounds[@base] >= 0 && index >= 0 ? (@base, index) : null;
    }

    private long LargestByte(in Instruction load, int baseRegister, Span<Expression> registers, int count)
    {
        // Without the image base seen loaded, the displacement must be the table's RVA (MSVC's
        // `[rax+r13+rva]`); a 0 displacement is a table at an address this run never computed.
        var known = baseRegister >= 0 && registers[baseRegister].Kind == ExpressionKind.ImageAddress;
        var table = (long)load.MemoryDisplacement64 + (known ? registers[baseRegister].Base : 0);
        if ((!known && load.MemoryDisplacement64 == 0) || table is < 0 or > uint.MaxValue || !_reader.TryGetSpan((uint)table, count, out var bytes))
        {
            return -1;
        }

        var largest = 0;
        foreach (var b in bytes)
        {
            largest = Math.Max(largest, b);
        }

        return largest;
    }

    // entry + image address, in either order: the target of a relative table.
    private static Expression Sum(Expression left, Expression right, int rightRegister)
    {
        if (left.Kind == ExpressionKind.Entry && left.BaseRegister >= 0)
        {
            return left.BaseRegister == rightRegister ? left with { Kind = ExpressionKind.Target, Base = 0, BaseRegister = -1 } : default;
        }

        if (left.Kind == ExpressionKind.Entry && right.Kind == ExpressionKind.ImageAddress)
        {
            return left with { Kind = ExpressionKind.Target, Base = right.Base };
        }

        return right.Kind == ExpressionKind.Entry && right.BaseRegister < 0 && left.Kind == ExpressionKind.ImageAddress
            ? right with { Kind = ExpressionKind.Target, Base = left.Base }
            : default;
    }

    private void ReadRelative(Expression target, FunctionLayout function)
    {
        for (var i = 0; i < target.Count; i++)
        {
            var at = target.Table + (i * 4L);
            if (at is < 0 or > uint.MaxValue || !_reader.TryGetSpan((uint)at, 4, out var bytes))
            {
                return;
            }

            long entry = target.Signed ? BinaryPrimitives.ReadInt32LittleEndian(bytes) : BinaryPrimitives.ReadUInt32LittleEndian(bytes);
            var rva = target.Base + entry;
            if (rva >= 0 && function.Contains((ulong)rva))
            {
                _targets.Add((uint)rva);
            }
        }
    }

    private void ReadAbsolute(long table, int count, FunctionLayout function)
    {
        for (var i = 0; i < count; i++)
        {
            var at = table + (i * 8L);
            if (at is < 0 or > uint.MaxValue || !_reader.TryGetSpan((uint)at, 8, out var bytes))
            {
                return;
            }

            var rva = (long)(BinaryPrimitives.ReadUInt64LittleEndian(bytes) - _imageBase);
            if (rva >= 0 && function.Contains((ulong)rva))
            {
                _targets.Add((uint)rva);
            }
        }
    }
}
