using System.Globalization;

namespace Pelint.Pe.Code.Arm64;

/// <summary>The instruction forms the ARM64 prolog/epilog check needs; everything else is <see cref="Other"/>.</summary>
public enum A64Kind : byte
{
    Other,

    /// <summary>stp/ldp (GPR or SIMD&amp;FP), and str/ldr with an immediate: see <see cref="A64Instruction.Addressing"/>.</summary>
    Store,
    Load,

    /// <summary>add/sub (immediate) with sp or a register: Rd = Rn ± Immediate.</summary>
    AddImmediate,
    SubImmediate,

    /// <summary>add/sub (extended register), e.g. sub sp, sp, x15, uxtx #4 after __chkstk: an amount not known statically.</summary>
    AddRegister,
    SubRegister,

    /// <summary>ret, retaa, retab.</summary>
    Return,

    /// <summary>b imm26.</summary>
    Branch,

    /// <summary>br / braa / brab (indirect tail call).</summary>
    BranchRegister,

    /// <summary>bl imm26.</summary>
    Call,

    PacIbsp,
    PacIasp,
    AutIbsp,
    AutIasp,
    Nop,

    /// <summary>movz/movn/movk: Rd gets (part of) a constant, <see cref="A64Instruction.Immediate"/> shifted into place.</summary>
    MoveWide,
}

/// <summary>How a load or store addresses memory.</summary>
public enum A64Addressing : byte
{
    None,

    /// <summary>[Rn, #imm] (unsigned scaled offset, or unscaled stur/ldur, or a signed pair offset).</summary>
    Offset,

    /// <summary>[Rn, #imm]! (base updated before the access).</summary>
    PreIndex,

    /// <summary>[Rn], #imm (base updated after the access).</summary>
    PostIndex,
}

/// <summary>The register file of a load/store's data registers.</summary>
public enum A64RegisterClass : byte
{
    None,

    /// <summary>64-bit general-purpose.</summary>
    X,

    /// <summary>32-bit general-purpose.</summary>
    W,

    /// <summary>32-bit SIMD&amp;FP.</summary>
    S,

    /// <summary>64-bit SIMD&amp;FP.</summary>
    D,

    /// <summary>128-bit SIMD&amp;FP.</summary>
    Q,
}

/// <summary>
/// One decoded A64 instruction, as far as unwinding cares: the prologs' and epilogs' stores,
/// loads, stack adjustments, frame-pointer moves, returns, branches and pointer-authentication
/// hints, from the Arm Architecture Reference Manual's encodings. Register 31 is sp in the base
/// and add/sub positions (<see cref="Rn"/>, <see cref="Rd"/>) and xzr as a data register.
/// </summary>
public readonly record struct A64Instruction(
    uint Word,
    A64Kind Kind,
    A64RegisterClass Class = A64RegisterClass.None,
    int Rt = -1,
    int Rt2 = -1,
    int Rn = -1,
    int Rd = -1,
    A64Addressing Addressing = A64Addressing.None,
    long Immediate = 0)
{
    public const int Sp = 31;

    public bool IsPair => Rt2 >= 0;

    public static A64Instruction Decode(uint w)
    {
        // Load/store pair: opc 101 V 0 mode L imm7 Rt2 Rn Rt (mode 01 post, 10 offset, 11 pre; 00 is the non-temporal form).
        if (((w >> 27) & 7) == 5 && ((w >> 25) & 1) == 0)
        {
            var mode = (w >> 23) & 3;
            var simd = ((w >> 26) & 1) != 0;
            var opc = w >> 30;
            var (cls, scale) = simd
                ? opc switch { 0 => (A64RegisterClass.S, 4), 1 => (A64RegisterClass.D, 8), 2 => (A64RegisterClass.Q, 16), _ => (A64RegisterClass.None, 0) }
                : opc switch { 0 => (A64RegisterClass.W, 4), 2 => (A64RegisterClass.X, 8), _ => (A64RegisterClass.None, 0) };
            if (cls != A64RegisterClass.None && mode != 0)
            {
                var imm7 = (long)(((int)(w << 10)) >> 25) * scale; // bits 21:15, sign-extended
                var load = ((w >> 22) & 1) != 0;
                return new A64Instruction(w, load ? A64Kind.Load : A64Kind.Store, cls, (int)(w & 31), (int)((w >> 10) & 31), (int)((w >> 5) & 31), -1,
                    mode switch { 1 => A64Addressing.PostIndex, 3 => A64Addressing.PreIndex, _ => A64Addressing.Offset }, imm7);
            }
        }

        // Load/store register (unsigned immediate): size 111 V 01 opc imm12 Rn Rt.
        if ((w & 0x3B000000) == 0x39000000 && LoadStoreClass(w) is var (cls1, scale1, load1) && cls1 != A64RegisterClass.None)
        {
            var imm12 = (long)((w >> 10) & 0xFFF) * scale1;
            return new A64Instruction(w, load1 ? A64Kind.Load : A64Kind.Store, cls1, (int)(w & 31), -1, (int)((w >> 5) & 31), -1, A64Addressing.Offset, imm12);
        }

        // Load/store register (immediate pre/post-indexed, unscaled): size 111 V 00 opc 0 imm9 idx Rn Rt.
        if ((w & 0x3B200000) == 0x38000000 && LoadStoreClass(w) is var (cls2, _, load2) && cls2 != A64RegisterClass.None)
        {
            var idx = (w >> 10) & 3;
            if (idx != 2)
            {
                var imm9 = (long)(((int)(w << 11)) >> 23); // bits 20:12, sign-extended
                var mode = idx switch { 1 => A64Addressing.PostIndex, 3 => A64Addressing.PreIndex, _ => A64Addressing.Offset };
                return new A64Instruction(w, load2 ? A64Kind.Load : A64Kind.Store, cls2, (int)(w & 31), -1, (int)((w >> 5) & 31), -1, mode, imm9);
            }
        }

        // Add/subtract (immediate), 64-bit, flags not set: sf=1 op S=0 100010 sh imm12 Rn Rd.
        if ((w & 0xBF800000) == 0x91000000)
        {
            var imm = (long)((w >> 10) & 0xFFF) << (((w >> 22) & 1) != 0 ? 12 : 0);
            var sub = ((w >> 30) & 1) != 0;
            return new A64Instruction(w, sub ? A64Kind.SubImmediate : A64Kind.AddImmediate, Rn: (int)((w >> 5) & 31), Rd: (int)(w & 31), Immediate: imm);
        }

        // Add/subtract (extended register), 64-bit, flags not set: sf=1 op S=0 01011 00 1 Rm option imm3 Rn Rd.
        if ((w & 0xBFE00000) == 0x8B200000)
        {
            var sub = ((w >> 30) & 1) != 0;
            return new A64Instruction(w, sub ? A64Kind.SubRegister : A64Kind.AddRegister, Rt: (int)((w >> 16) & 31), Rn: (int)((w >> 5) & 31), Rd: (int)(w & 31));
        }

        // Move wide (immediate): sf opc(00 movn, 10 movz, 11 movk) 100101 hw imm16 Rd.
        if ((w & 0x1F800000) == 0x12800000 && ((w >> 29) & 3) != 1)
        {
            var shift = (int)((w >> 21) & 3) * 16;
            return new A64Instruction(w, A64Kind.MoveWide, (w >> 31) != 0 ? A64RegisterClass.X : A64RegisterClass.W, Rd: (int)(w & 31),
                Immediate: (long)(((w >> 5) & 0xFFFF) << shift));
        }

        return w switch
        {
            0xD65F0BFF or 0xD65F0FFF => new A64Instruction(w, A64Kind.Return, Rn: 30), // retaa, retab
            0xD503237F => new A64Instruction(w, A64Kind.PacIbsp),
            0xD503233F => new A64Instruction(w, A64Kind.PacIasp),
            0xD50323FF => new A64Instruction(w, A64Kind.AutIbsp),
            0xD50323BF => new A64Instruction(w, A64Kind.AutIasp),
            0xD503201F => new A64Instruction(w, A64Kind.Nop),
            _ when (w & 0xFFFFFC1F) == 0xD65F0000 => new A64Instruction(w, A64Kind.Return, Rn: (int)((w >> 5) & 31)),
            _ when (w & 0xFFFFFC1F) == 0xD61F0000 => new A64Instruction(w, A64Kind.BranchRegister, Rn: (int)((w >> 5) & 31)),
            _ when (w & 0xFEFFF800) == 0xD61F0800 => new A64Instruction(w, A64Kind.BranchRegister, Rn: (int)((w >> 5) & 31)), // braa/brab/braaz/brabz
            _ when (w & 0xFC000000) == 0x14000000 => new A64Instruction(w, A64Kind.Branch, Immediate: (long)(((int)(w << 6)) >> 6) * 4),
            _ when (w & 0xFC000000) == 0x94000000 => new A64Instruction(w, A64Kind.Call, Immediate: (long)(((int)(w << 6)) >> 6) * 4),
            _ => new A64Instruction(w, A64Kind.Other),
        };
    }

    // size(31:30) V(26) opc(23:22) of the single-register load/store forms: x (size 11, V 0),
    // d (size 11, V 1), q (size 00, V 1, opc 1x); str opc 00/10, ldr opc 01/11.
    private static (A64RegisterClass Class, int Scale, bool Load) LoadStoreClass(uint w)
    {
        var size = w >> 30;
        var simd = ((w >> 26) & 1) != 0;
        var opc = (w >> 22) & 3;
        return (size, simd, opc) switch
        {
            (3, false, 0) => (A64RegisterClass.X, 8, false),
            (3, false, 1) => (A64RegisterClass.X, 8, true),
            (2, false, 0) => (A64RegisterClass.W, 4, false),
            (2, false, 1) => (A64RegisterClass.W, 4, true),
            (3, true, 0) => (A64RegisterClass.D, 8, false),
            (3, true, 1) => (A64RegisterClass.D, 8, true),
            (2, true, 0) => (A64RegisterClass.S, 4, false),
            (2, true, 1) => (A64RegisterClass.S, 4, true),
            (0, true, 2) => (A64RegisterClass.Q, 16, false),
            (0, true, 3) => (A64RegisterClass.Q, 16, true),
            _ => (A64RegisterClass.None, 0, false),
        };
    }

    /// <summary>A short listing for messages, e.g. "stp x29, x30, [sp, #-16]!" (registers as the manual spells them, sp for 31 as a base).</summary>
    public override string ToString()
    {
        var inv = CultureInfo.InvariantCulture;
        string Reg(int r, A64RegisterClass c) => c switch
        {
            A64RegisterClass.X => r == 31 ? "xzr" : string.Create(inv, $"x{r}"),
            A64RegisterClass.W => r == 31 ? "wzr" : string.Create(inv, $"w{r}"),
            A64RegisterClass.S => string.Create(inv, $"s{r}"),
            A64RegisterClass.D => string.Create(inv, $"d{r}"),
            A64RegisterClass.Q => string.Create(inv, $"q{r}"),
            _ => "?",
        };
        string Base(int r) => r == Sp ? "sp" : string.Create(inv, $"x{r}");
        switch (Kind)
        {
            case A64Kind.Store or A64Kind.Load:
                var mnemonic = (Kind == A64Kind.Store ? "st" : "ld") + (IsPair ? "p" : "r");
                var regs = IsPair ? $"{Reg(Rt, Class)}, {Reg(Rt2, Class)}" : Reg(Rt, Class);
                var mem = Addressing switch
                {
                    A64Addressing.PreIndex => string.Create(inv, $"[{Base(Rn)}, #{Immediate}]!"),
                    A64Addressing.PostIndex => string.Create(inv, $"[{Base(Rn)}], #{Immediate}"),
                    _ => Immediate == 0 ? $"[{Base(Rn)}]" : string.Create(inv, $"[{Base(Rn)}, #{Immediate}]"),
                };
                return $"{mnemonic} {regs}, {mem}";
            case A64Kind.AddImmediate or A64Kind.SubImmediate:
                return Kind == A64Kind.AddImmediate && Immediate == 0 && (Rn == Sp || Rd == Sp)
                    ? $"mov {Base(Rd)}, {Base(Rn)}"
                    : string.Create(inv, $"{(Kind == A64Kind.AddImmediate ? "add" : "sub")} {Base(Rd)}, {Base(Rn)}, #{Immediate}");
            case A64Kind.AddRegister or A64Kind.SubRegister:
                return string.Create(inv, $"{(Kind == A64Kind.AddRegister ? "add" : "sub")} {Base(Rd)}, {Base(Rn)}, x{Rt}, (extended)");
            case A64Kind.Return:
                return Word switch { 0xD65F0BFF => "retaa", 0xD65F0FFF => "retab", _ => Rn == 30 ? "ret" : string.Create(inv, $"ret x{Rn}") };
            case A64Kind.BranchRegister:
                return string.Create(inv, $"br x{Rn}");
            case A64Kind.Branch:
                return string.Create(inv, $"b .{(Immediate >= 0 ? "+" : string.Empty)}{Immediate}");
            case A64Kind.Call:
                return string.Create(inv, $"bl .{(Immediate >= 0 ? "+" : string.Empty)}{Immediate}");
            case A64Kind.PacIbsp:
                return "pacibsp";
            case A64Kind.PacIasp:
                return "paciasp";
            case A64Kind.AutIbsp:
                return "autibsp";
            case A64Kind.AutIasp:
                return "autiasp";
            case A64Kind.Nop:
                return "nop";
            case A64Kind.MoveWide:
                var shift = (int)((Word >> 21) & 3) * 16;
                return ((Word >> 29) & 3) switch
                {
                    2 => string.Create(inv, $"mov {Reg(Rd, Class)}, #0x{Immediate:x}"),
                    3 => string.Create(inv, $"movk {Reg(Rd, Class)}, #0x{Immediate >> shift:x}{(shift > 0 ? $", lsl #{shift}" : string.Empty)}"),
                    _ => string.Create(inv, $"movn {Reg(Rd, Class)}, #0x{Immediate >> shift:x}{(shift > 0 ? $", lsl #{shift}" : string.Empty)}"),
                };
            default:
                return string.Create(inv, $".word 0x{Word:x8}");
        }
    }
}
