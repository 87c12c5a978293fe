namespace Pelint.Analysis.StackWalk;

/// <summary>What a stack walk stopped at one instruction gets wrong.</summary>
public enum HazardKind : byte
{
    /// <summary>The unwinder computes the wrong caller RSP or return address.</summary>
    WrongCaller,

    /// <summary>It restores a nonvolatile register with a value that is not the caller's (another register's, a stack address...).</summary>
    WrongRegister,

    /// <summary>It restores a nonvolatile register from a stack slot already released (below RSP), which exception dispatch may overwrite.</summary>
    ReleasedSlot,
}

/// <summary>
/// One instruction at which the unwinder's answer differs from the truth.
/// <paramref name="TrueRsp"/> is RSP there, relative to the function's entry;
/// <paramref name="CallerRsp"/> and <paramref name="ReturnAddressFrom"/> are what the unwinder
/// computed; for register hazards, <paramref name="Register"/> was read from
/// <paramref name="SlotAddress"/> and got <paramref name="RestoredValue"/>. <paramref name="Deepest"/>
/// is the deepest RSP on the paths to the instruction (was the frame ever built?).
/// </summary>
public readonly record struct Hazard(
    uint Rva,
    HazardKind Kind,
    UnwindPath Path,
    Sym TrueRsp,
    Sym CallerRsp,
    Sym ReturnAddressFrom,
    Sym ReturnAddress,
    int Register,
    Sym SlotAddress,
    Sym RestoredValue,
    long Deepest);
