namespace Pelint.Pe.Exceptions.Arm64;

/// <summary>
/// The ARM64 unwind operations of Microsoft's "ARM64 exception handling" table, plus the
/// reserved encodings, which are kept apart so a rule can say which reserved byte it saw.
/// </summary>
public enum Arm64UnwindOp : byte
{
    /// <summary>000xxxxx: sub sp, sp, #x*16.</summary>
    AllocS,

    /// <summary>001zzzzz: stp x19, x20, [sp, #-z*8]!.</summary>
    SaveR19R20X,

    /// <summary>01zzzzzz: stp x29, lr, [sp, #z*8].</summary>
    SaveFpLr,

    /// <summary>10zzzzzz: stp x29, lr, [sp, #-(z+1)*8]!.</summary>
    SaveFpLrX,

    /// <summary>11000xxx'xxxxxxxx: sub sp, sp, #x*16 (below 32 KiB).</summary>
    AllocM,

    /// <summary>110010xx'xxzzzzzz: stp x(19+x), x(20+x), [sp, #z*8].</summary>
    SaveRegP,

    /// <summary>110011xx'xxzzzzzz: stp x(19+x), x(20+x), [sp, #-(z+1)*8]!.</summary>
    SaveRegPX,

    /// <summary>110100xx'xxzzzzzz: str x(19+x), [sp, #z*8].</summary>
    SaveReg,

    /// <summary>1101010x'xxxzzzzz: str x(19+x), [sp, #-(z+1)*8]!.</summary>
    SaveRegX,

    /// <summary>1101011x'xxzzzzzz: stp x(19+2x), lr, [sp, #z*8].</summary>
    SaveLrPair,

    /// <summary>1101100x'xxzzzzzz: stp d(8+x), d(9+x), [sp, #z*8].</summary>
    SaveFRegP,

    /// <summary>1101101x'xxzzzzzz: stp d(8+x), d(9+x), [sp, #-(z+1)*8]!.</summary>
    SaveFRegPX,

    /// <summary>1101110x'xxzzzzzz: str d(8+x), [sp, #z*8].</summary>
    SaveFReg,

    /// <summary>11011110'xxxzzzzz: str d(8+x), [sp, #-(z+1)*8]!.</summary>
    SaveFRegX,

    /// <summary>11011111'zzzzzzzz: addvl sp, sp, #-z (SVE; newer than the published table).</summary>
    AllocZ,

    /// <summary>11100000'x*24: sub sp, sp, #x*16 (below 256 MiB).</summary>
    AllocL,

    /// <summary>11100001: mov x29, sp.</summary>
    SetFp,

    /// <summary>11100010'xxxxxxxx: add x29, sp, #x*8.</summary>
    AddFp,

    /// <summary>11100011: an instruction with no unwind effect.</summary>
    Nop,

    /// <summary>11100100: end of the sequence (an epilog's ret).</summary>
    End,

    /// <summary>11100101: end of this fragment's codes; the parent's (phantom) prolog follows.</summary>
    EndC,

    /// <summary>11100110: the next register pair, after a pair save.</summary>
    SaveNext,

    /// <summary>11100111'0pxrrrrr'ffoooooo: save_any_reg (x, d or q, single or pair, optional writeback).</summary>
    SaveAnyReg,

    /// <summary>11100111 with f=11: an SVE z register (save_zreg).</summary>
    SaveZReg,

    /// <summary>11100111 with f=11 and bit 4 of the second byte: an SVE p register (save_preg).</summary>
    SavePReg,

    /// <summary>11101000: MSFT_OP_TRAP_FRAME.</summary>
    TrapFrame,

    /// <summary>11101001: MSFT_OP_MACHINE_FRAME.</summary>
    MachineFrame,

    /// <summary>11101010: MSFT_OP_CONTEXT.</summary>
    Context,

    /// <summary>11101011: MSFT_OP_EC_CONTEXT.</summary>
    EcContext,

    /// <summary>11101100: MSFT_OP_CLEAR_UNWOUND_TO_CALL.</summary>
    ClearUnwoundToCall,

    /// <summary>11111100: pacibsp (autibsp in an epilog).</summary>
    PacSignLr,

    /// <summary>
    /// 11101101-11110111 and 11100111 with its reserved bit: the unwinder refuses them
    /// (STATUS_UNWIND_INVALID_SEQUENCE).
    /// </summary>
    Reserved,

    /// <summary>11111000-11111011 (2 to 5 bytes) and 11111101-11111111: reserved, skipped by the unwinder as a nop.</summary>
    ReservedNop,
}
