using Pelint.Pe.Exceptions;

namespace Pelint.Analysis.StackWalk;

/// <summary>What a symbolic value is based on.</summary>
public enum SymKind : byte
{
    /// <summary>Nothing is known about the value.</summary>
    Unknown,

    /// <summary>An address on the stack: the function's entry RSP plus <see cref="Sym.Offset"/>.</summary>
    Stack,

    /// <summary>The value register <see cref="Sym.Register"/> held when the function was entered (the caller's), plus <see cref="Sym.Offset"/>.</summary>
    Entry,

    /// <summary>The return address the caller pushed (plus <see cref="Sym.Offset"/>).</summary>
    ReturnAddress,

    /// <summary>The constant <see cref="Sym.Offset"/>.</summary>
    Constant,
}

/// <summary>
/// A value as the stack-walk verifier knows it: relative to the function's entry state, so that
/// "the right caller" has one exact form (RSP = <c>Stack(8)</c>, RIP = <see cref="ReturnAddress"/>,
/// each nonvolatile register = <c>Entry(r)</c>) whatever the real addresses are. Arithmetic keeps
/// the base, so a wrong value (the caller's RBP plus 8) stays recognisably wrong.
/// </summary>
public readonly record struct Sym(SymKind Kind, int Register, long Offset)
{
    public static Sym Unknown => default;

    public static readonly Sym ReturnAddress = new(SymKind.ReturnAddress, 0, 0);

    public static Sym Stack(long offset) => new(SymKind.Stack, 0, offset);

    public static Sym Entry(int register) => new(SymKind.Entry, register, 0);

    public static Sym Constant(long value) => new(SymKind.Constant, 0, value);

    public bool IsKnown => Kind != SymKind.Unknown;

    public bool IsStack => Kind == SymKind.Stack;

    /// <summary>The value plus a displacement (unknown stays unknown).</summary>
    public Sym Add(long displacement) => Kind == SymKind.Unknown ? this : this with { Offset = Offset + displacement };

    /// <summary>For messages.</summary>
    public override string ToString()
    {
        var displacement = Offset == 0 ? string.Empty : $"{(Offset < 0 ? "-" : "+")}0x{Math.Abs(Offset):x}";
        return Kind switch
        {
            SymKind.Stack => $"entry rsp{displacement}",
            SymKind.Entry => Offset == 0 ? $"the caller's {X64Registers.Name(Register)}" : $"the caller's {X64Registers.Name(Register)}{displacement}",
            SymKind.ReturnAddress => Offset == 0 ? "the return address" : $"the return address{displacement}",
            SymKind.Constant => $"0x{Offset:x}",
            _ => "an unknown value",
        };
    }
}
