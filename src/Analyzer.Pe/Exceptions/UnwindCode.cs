namespace Pelint.Pe.Exceptions;

/// <summary>
/// One decoded unwind operation (1 to 3 slots). Operands are decoded per Microsoft's
/// "x64 exception handling": only the ones the op has are set.
/// </summary>
/// <param name="Slot">Index of its first slot in the code array.</param>
/// <param name="SlotCount">Slots it occupies (0 when the op's size is unknown: SPARE, unknown).</param>
/// <param name="CodeOffset">Offset from the function start of the end of the prolog instruction (byte 0).</param>
/// <param name="Op">Low nibble of byte 1.</param>
/// <param name="OpInfo">High nibble of byte 1.</param>
/// <param name="Register">Integer register number (PUSH_NONVOL, SAVE_NONVOL*), or XMM number (SAVE_XMM128*).</param>
/// <param name="Size">Allocation size in bytes (ALLOC_SMALL, ALLOC_LARGE).</param>
/// <param name="StackOffset">Save slot offset from RSP (or the frame) in bytes, already scaled.</param>
public readonly record struct UnwindCode(
    int Slot,
    int SlotCount,
    byte CodeOffset,
    UnwindOp Op,
    byte OpInfo,
    int? Register = null,
    uint? Size = null,
    uint? StackOffset = null)
{
    /// <summary>Slots an op occupies, or 0 when it has no defined size (SPARE, 11-15, bad ALLOC_LARGE info).</summary>
    public static int SlotsOf(UnwindOp op, byte opInfo, int version) => op switch
    {
        UnwindOp.PushNonvol or UnwindOp.AllocSmall or UnwindOp.SetFpreg or UnwindOp.PushMachframe => 1,
        UnwindOp.AllocLarge => opInfo switch { 0 => 2, 1 => 3, _ => 0 },
        UnwindOp.SaveNonvol or UnwindOp.SaveXmm128 => 2,
        UnwindOp.SaveNonvolFar or UnwindOp.SaveXmm128Far => 3,
        // Version 2 EPILOG is one slot; in version 1, op 6 was the obsolete SAVE_XMM (2 slots).
        UnwindOp.Epilog => version == 2 ? 1 : 2,
        _ => 0,
    };

    public bool IsXmm => Op is UnwindOp.SaveXmm128 or UnwindOp.SaveXmm128Far;

    public string? RegisterName => Register is not { } r ? null : IsXmm ? $"xmm{r}" : UnwindNames.Register(r);
}

/// <summary>A version 2 epilog: its RVA and size in bytes.</summary>
public readonly record struct EpilogDescriptor(uint Rva, uint Size, uint OffsetFromEnd);
