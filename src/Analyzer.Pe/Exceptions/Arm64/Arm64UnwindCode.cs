using System.Globalization;

namespace Pelint.Pe.Exceptions.Arm64;

/// <summary>The kind of register an ARM64 unwind code saves.</summary>
public enum Arm64RegisterKind : byte
{
    None,

    /// <summary>General-purpose x0-x30 (x29 = fp, x30 = lr).</summary>
    X,

    /// <summary>Low 64 bits of a SIMD register (d0-d31).</summary>
    D,

    /// <summary>A whole 128-bit SIMD register (q0-q31).</summary>
    Q,

    /// <summary>SVE vector register.</summary>
    Z,

    /// <summary>SVE predicate register.</summary>
    P,
}

/// <summary>
/// One decoded ARM64 unwind code. <see cref="Index"/> is its byte index in the code array,
/// <see cref="Raw"/> its bytes as stored (most significant first). For saves,
/// <see cref="Register"/> is the first register and <see cref="Offset"/> the byte offset from sp:
/// for the pre-indexed (<c>_x</c>) forms it is the amount sp is decremented by.
/// </summary>
public readonly record struct Arm64UnwindCode(
    int Index,
    int Length,
    Arm64UnwindOp Op,
    ulong Raw,
    Arm64RegisterKind RegisterKind = Arm64RegisterKind.None,
    int Register = 0,
    bool Paired = false,
    bool PreIndexed = false,
    int Offset = 0,
    uint Size = 0)
{
    /// <summary>Byte length of a code from its first byte (the unwinder's own table: a lookup, never a guess).</summary>
    public static int LengthOf(byte first) => first switch
    {
        < 0xC0 => 1,
        < 0xE0 => 2,
        0xE0 => 4,
        0xE2 => 2,
        0xE7 => 3,
        >= 0xF8 and <= 0xFB => 2 + (first & 3),
        _ => 1,
    };

    /// <summary>
    /// Decodes the code at <paramref name="index"/>; false when its bytes run past the array
    /// (then <paramref name="code"/> carries the op and the bytes that exist).
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> codes, int index, out Arm64UnwindCode code)
    {
        var b0 = codes[index];
        var length = LengthOf(b0);
        var available = Math.Min(length, codes.Length - index);
        ulong raw = 0;
        for (var k = 0; k < available; k++)
        {
            raw = (raw << 8) | codes[index + k];
        }

        if (available < length)
        {
            code = new Arm64UnwindCode(index, available, OpOf(b0, 0, 0), raw);
            return false;
        }

        byte b1 = length > 1 ? codes[index + 1] : (byte)0, b2 = length > 2 ? codes[index + 2] : (byte)0;
        code = b0 switch
        {
            <= 0x1F => new(index, 1, Arm64UnwindOp.AllocS, raw, Size: (uint)(b0 & 0x1F) * 16),
            <= 0x3F => new(index, 1, Arm64UnwindOp.SaveR19R20X, raw, Arm64RegisterKind.X, 19, true, true, (b0 & 0x1F) * 8),
            <= 0x7F => new(index, 1, Arm64UnwindOp.SaveFpLr, raw, Arm64RegisterKind.X, 29, true, false, (b0 & 0x3F) * 8),
            <= 0xBF => new(index, 1, Arm64UnwindOp.SaveFpLrX, raw, Arm64RegisterKind.X, 29, true, true, ((b0 & 0x3F) + 1) * 8),
            <= 0xC7 => new(index, 2, Arm64UnwindOp.AllocM, raw, Size: (uint)(((b0 & 7) << 8) | b1) * 16),
            <= 0xCB => new(index, 2, Arm64UnwindOp.SaveRegP, raw, Arm64RegisterKind.X, 19 + (((b0 & 3) << 2) | (b1 >> 6)), true, false, (b1 & 0x3F) * 8),
            <= 0xCF => new(index, 2, Arm64UnwindOp.SaveRegPX, raw, Arm64RegisterKind.X, 19 + (((b0 & 3) << 2) | (b1 >> 6)), true, true, ((b1 & 0x3F) + 1) * 8),
            <= 0xD3 => new(index, 2, Arm64UnwindOp.SaveReg, raw, Arm64RegisterKind.X, 19 + (((b0 & 3) << 2) | (b1 >> 6)), false, false, (b1 & 0x3F) * 8),
            <= 0xD5 => new(index, 2, Arm64UnwindOp.SaveRegX, raw, Arm64RegisterKind.X, 19 + (((b0 & 1) << 3) | (b1 >> 5)), false, true, ((b1 & 0x1F) + 1) * 8),
            <= 0xD7 => new(index, 2, Arm64UnwindOp.SaveLrPair, raw, Arm64RegisterKind.X, 19 + (2 * (((b0 & 1) << 2) | (b1 >> 6))), true, false, (b1 & 0x3F) * 8),
            <= 0xD9 => new(index, 2, Arm64UnwindOp.SaveFRegP, raw, Arm64RegisterKind.D, 8 + (((b0 & 1) << 2) | (b1 >> 6)), true, false, (b1 & 0x3F) * 8),
            <= 0xDB => new(index, 2, Arm64UnwindOp.SaveFRegPX, raw, Arm64RegisterKind.D, 8 + (((b0 & 1) << 2) | (b1 >> 6)), true, true, ((b1 & 0x3F) + 1) * 8),
            <= 0xDD => new(index, 2, Arm64UnwindOp.SaveFReg, raw, Arm64RegisterKind.D, 8 + (((b0 & 1) << 2) | (b1 >> 6)), false, false, (b1 & 0x3F) * 8),
            0xDE => new(index, 2, Arm64UnwindOp.SaveFRegX, raw, Arm64RegisterKind.D, 8 + (b1 >> 5), false, true, ((b1 & 0x1F) + 1) * 8),
            0xDF => new(index, 2, Arm64UnwindOp.AllocZ, raw, Size: b1),
            0xE0 => new(index, 4, Arm64UnwindOp.AllocL, raw, Size: (uint)((b1 << 16) | (b2 << 8) | codes[index + 3]) * 16),
            0xE1 => new(index, 1, Arm64UnwindOp.SetFp, raw),
            0xE2 => new(index, 2, Arm64UnwindOp.AddFp, raw, Offset: b1 * 8),
            0xE7 => SaveAny(index, raw, b1, b2),
            _ => new(index, length, OpOf(b0, b1, b2), raw),
        };
        return true;
    }

    private static Arm64UnwindOp OpOf(byte b0, byte b1, byte b2) => b0 switch
    {
        0xE3 => Arm64UnwindOp.Nop,
        0xE4 => Arm64UnwindOp.End,
        0xE5 => Arm64UnwindOp.EndC,
        0xE6 => Arm64UnwindOp.SaveNext,
        0xE7 => (b1 & 0x80) != 0 ? Arm64UnwindOp.Reserved : (b2 & 0xC0) == 0xC0 ? ((b1 & 0x10) == 0 ? Arm64UnwindOp.SaveZReg : Arm64UnwindOp.SavePReg) : Arm64UnwindOp.SaveAnyReg,
        0xE8 => Arm64UnwindOp.TrapFrame,
        0xE9 => Arm64UnwindOp.MachineFrame,
        0xEA => Arm64UnwindOp.Context,
        0xEB => Arm64UnwindOp.EcContext,
        0xEC => Arm64UnwindOp.ClearUnwoundToCall,
        0xFC => Arm64UnwindOp.PacSignLr,
        >= 0xF8 and <= 0xFB => Arm64UnwindOp.ReservedNop,
        >= 0xFD => Arm64UnwindOp.ReservedNop,
        >= 0xE0 => Arm64UnwindOp.Reserved,
        _ => Arm64UnwindOp.Reserved, // unreachable for bytes below 0xE0: they are all decoded above
    };

    // 11100111'0pxrrrrr'ffoooooo: p pair, x writeback, r register, f kind (x/d/q), o offset
    // (times 16 with writeback, a pair or a q register, else times 8).
    private static Arm64UnwindCode SaveAny(int index, ulong raw, byte b1, byte b2)
    {
        var op = OpOf(0xE7, b1, b2);
        if (op == Arm64UnwindOp.Reserved)
        {
            return new(index, 3, op, raw);
        }

        if (op is Arm64UnwindOp.SaveZReg or Arm64UnwindOp.SavePReg)
        {
            var register = op == Arm64UnwindOp.SaveZReg ? (b1 & 0x0F) + 8 : b1 & 0x0F;
            return new(index, 3, op, raw, op == Arm64UnwindOp.SaveZReg ? Arm64RegisterKind.Z : Arm64RegisterKind.P, register, false, false, ((b1 & 0x60) << 1) | (b2 & 0x3F));
        }

        var writeback = (b1 & 0x20) != 0;
        var paired = (b1 & 0x40) != 0;
        var kind = (b2 >> 6) switch { 0 => Arm64RegisterKind.X, 1 => Arm64RegisterKind.D, _ => Arm64RegisterKind.Q };
        var offset = (b2 & 0x3F) + (writeback ? 1 : 0);
        offset *= !writeback && !paired && kind != Arm64RegisterKind.Q ? 8 : 16;
        return new(index, 3, Arm64UnwindOp.SaveAnyReg, raw, kind, b1 & 0x1F, paired, writeback, offset);
    }

    /// <summary>Whether the unwinder rejects this code (STATUS_UNWIND_INVALID_SEQUENCE).</summary>
    public bool IsRejected => Op == Arm64UnwindOp.Reserved || (Op == Arm64UnwindOp.SaveAnyReg && !SaveAnyRegisterValid);

    // The encoded register must leave room for its pair partner, and x registers stop at x30.
    private bool SaveAnyRegisterValid => Register <= 31 - (Paired ? 1 : 0) - (RegisterKind == Arm64RegisterKind.X ? 1 : 0);

    /// <summary>A pair save that a following save_next can extend (the unwinder's list).</summary>
    public bool AcceptsSaveNext => Op is Arm64UnwindOp.SaveR19R20X or Arm64UnwindOp.SaveRegP or Arm64UnwindOp.SaveRegPX
        or Arm64UnwindOp.SaveFRegP or Arm64UnwindOp.SaveFRegPX or Arm64UnwindOp.SaveNext
        || (Op == Arm64UnwindOp.SaveAnyReg && Paired);

    /// <summary>The code's first byte.</summary>
    public byte First => (byte)(Raw >> (8 * (Length - 1)));

    /// <summary>
    /// Instructions this code stands for, from the unwinder's table: 1, except the custom-stack
    /// codes and reserved 0xE8-0xF7, which stand for none.
    /// </summary>
    public int InstructionCount => First is >= 0xE8 and <= 0xF7 ? 0 : 1;

    /// <summary>end or end_c: where the unwinder stops counting a prolog's or epilog's instructions.</summary>
    public bool IsEnd => Op is Arm64UnwindOp.End or Arm64UnwindOp.EndC;

    /// <summary>The code's bytes as hex, "0x" and two digits a byte (llvm-readobj's notation).</summary>
    public string Hex => "0x" + Raw.ToString("x" + (Length * 2).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>The instruction the code stands for, in llvm-readobj's notation (a prolog's store or an epilog's load).</summary>
    public string Describe(bool prolog)
    {
        var inv = CultureInfo.InvariantCulture;
        string St(bool pair) => prolog ? (pair ? "stp" : "str") : (pair ? "ldp" : "ldr");
        string Mem(int offset) => string.Create(inv, $"[sp, #{offset}]");
        string PreOrPost(int offset) => prolog ? string.Create(inv, $"[sp, #-{offset}]!") : string.Create(inv, $"[sp], #{offset}");
        var r = Register;
        return Op switch
        {
            Arm64UnwindOp.AllocS or Arm64UnwindOp.AllocM or Arm64UnwindOp.AllocL => string.Create(inv, $"{(prolog ? "sub" : "add")} sp, #{Size}"),
            Arm64UnwindOp.SaveR19R20X => $"{St(true)} x19, x20, {PreOrPost(Offset)}",
            Arm64UnwindOp.SaveFpLr => $"{St(true)} x29, x30, {Mem(Offset)}",
            Arm64UnwindOp.SaveFpLrX => $"{St(true)} x29, x30, {PreOrPost(Offset)}",
            Arm64UnwindOp.SaveRegP => string.Create(inv, $"{St(true)} x{r}, x{r + 1}, {Mem(Offset)}"),
            Arm64UnwindOp.SaveRegPX => string.Create(inv, $"{St(true)} x{r}, x{r + 1}, {PreOrPost(Offset)}"),
            Arm64UnwindOp.SaveReg => string.Create(inv, $"{St(false)} x{r}, {Mem(Offset)}"),
            Arm64UnwindOp.SaveRegX => string.Create(inv, $"{St(false)} x{r}, {PreOrPost(Offset)}"),
            Arm64UnwindOp.SaveLrPair => string.Create(inv, $"{St(true)} x{r}, lr, {Mem(Offset)}"),
            Arm64UnwindOp.SaveFRegP => string.Create(inv, $"{St(true)} d{r}, d{r + 1}, {Mem(Offset)}"),
            Arm64UnwindOp.SaveFRegPX => string.Create(inv, $"{St(true)} d{r}, d{r + 1}, {PreOrPost(Offset)}"),
            Arm64UnwindOp.SaveFReg => string.Create(inv, $"{St(false)} d{r}, {Mem(Offset)}"),
            Arm64UnwindOp.SaveFRegX => string.Create(inv, $"{St(false)} d{r}, {PreOrPost(Offset)}"),
            Arm64UnwindOp.AllocZ => string.Create(inv, $"addvl sp, #{(prolog ? -(int)Size : (int)Size)}"),
            Arm64UnwindOp.SetFp => prolog ? "mov fp, sp" : "mov sp, fp",
            Arm64UnwindOp.AddFp => string.Create(inv, $"{(prolog ? "add fp, sp" : "sub sp, fp")}, #{Offset}"),
            Arm64UnwindOp.Nop => "nop",
            Arm64UnwindOp.End => "end",
            Arm64UnwindOp.EndC => "end_c",
            Arm64UnwindOp.SaveNext => prolog ? "save next" : "restore next",
            Arm64UnwindOp.SaveAnyReg when !SaveAnyRegisterValid => "invalid save_any_reg encoding",
            Arm64UnwindOp.SaveAnyReg => SaveAnyText(prolog, St(Paired), Mem(Offset), PreOrPost(Offset)),
            Arm64UnwindOp.SaveZReg => string.Create(inv, $"{St(false)} z{r}, [sp, #{Offset}, mul vl]"),
            Arm64UnwindOp.SavePReg => string.Create(inv, $"{St(false)} p{r}, [sp, #{Offset}, mul vl]"),
            Arm64UnwindOp.TrapFrame => "trap frame",
            Arm64UnwindOp.MachineFrame => "machine frame",
            Arm64UnwindOp.Context => "context",
            Arm64UnwindOp.EcContext => "EC context",
            Arm64UnwindOp.ClearUnwoundToCall => "clear unwound to call",
            Arm64UnwindOp.PacSignLr => prolog ? "pacibsp" : "autibsp",
            _ => "reserved",
        };
    }

    private string SaveAnyText(bool prolog, string mnemonic, string mem, string preOrPost)
    {
        _ = prolog;
        var c = RegisterKind switch { Arm64RegisterKind.D => 'd', Arm64RegisterKind.Q => 'q', _ => 'x' };
        var regs = Paired ? string.Create(CultureInfo.InvariantCulture, $"{c}{Register}, {c}{Register + 1}") : string.Create(CultureInfo.InvariantCulture, $"{c}{Register}");
        return $"{mnemonic} {regs}, {(PreIndexed ? preOrPost : mem)}";
    }

    /// <summary>The op's name as Microsoft's table spells it.</summary>
    public string Name => Op switch
    {
        Arm64UnwindOp.AllocS => "alloc_s",
        Arm64UnwindOp.SaveR19R20X => "save_r19r20_x",
        Arm64UnwindOp.SaveFpLr => "save_fplr",
        Arm64UnwindOp.SaveFpLrX => "save_fplr_x",
        Arm64UnwindOp.AllocM => "alloc_m",
        Arm64UnwindOp.SaveRegP => "save_regp",
        Arm64UnwindOp.SaveRegPX => "save_regp_x",
        Arm64UnwindOp.SaveReg => "save_reg",
        Arm64UnwindOp.SaveRegX => "save_reg_x",
        Arm64UnwindOp.SaveLrPair => "save_lrpair",
        Arm64UnwindOp.SaveFRegP => "save_fregp",
        Arm64UnwindOp.SaveFRegPX => "save_fregp_x",
        Arm64UnwindOp.SaveFReg => "save_freg",
        Arm64UnwindOp.SaveFRegX => "save_freg_x",
        Arm64UnwindOp.AllocZ => "alloc_z",
        Arm64UnwindOp.AllocL => "alloc_l",
        Arm64UnwindOp.SetFp => "set_fp",
        Arm64UnwindOp.AddFp => "add_fp",
        Arm64UnwindOp.Nop => "nop",
        Arm64UnwindOp.End => "end",
        Arm64UnwindOp.EndC => "end_c",
        Arm64UnwindOp.SaveNext => "save_next",
        Arm64UnwindOp.SaveAnyReg => "save_any_reg",
        Arm64UnwindOp.SaveZReg => "save_zreg",
        Arm64UnwindOp.SavePReg => "save_preg",
        Arm64UnwindOp.TrapFrame => "trap_frame",
        Arm64UnwindOp.MachineFrame => "machine_frame",
        Arm64UnwindOp.Context => "context",
        Arm64UnwindOp.EcContext => "ec_context",
        Arm64UnwindOp.ClearUnwoundToCall => "clear_unwound_to_call",
        Arm64UnwindOp.PacSignLr => "pac_sign_lr",
        Arm64UnwindOp.ReservedNop => "reserved_nop",
        _ => "reserved",
    };
}
