namespace Pelint.Pe.Exceptions;

/// <summary>UNWIND_CODE operations (winnt.h UWOP_*).</summary>
public enum UnwindOp : byte
{
    PushNonvol = 0,
    AllocLarge = 1,
    AllocSmall = 2,
    SetFpreg = 3,
    SaveNonvol = 4,
    SaveNonvolFar = 5,
    Epilog = 6,
    SpareCode = 7,
    SaveXmm128 = 8,
    SaveXmm128Far = 9,
    PushMachframe = 10,
}

[Flags]
public enum UnwindFlags : byte
{
    None = 0,
    EHandler = 1,
    UHandler = 2,
    ChainInfo = 4,
}

/// <summary>
/// One decoded prolog operation. <see cref="Register"/> is OpInfo for the register ops;
/// <see cref="Value"/> is the allocation size (bytes) or the save offset from rsp (bytes).
/// Eight bytes: an image's codes live in one shared array (see <see cref="UnwindTable"/>).
/// </summary>
public readonly record struct UnwindCode
{
    private readonly byte _slots;

    public UnwindCode(byte codeOffset, UnwindOp op, byte opInfo, uint value, int slots)
    {
        CodeOffset = codeOffset;
        Op = op;
        OpInfo = opInfo;
        _slots = (byte)slots;
        Value = value;
    }

    public byte CodeOffset { get; }

    public UnwindOp Op { get; }

    public byte OpInfo { get; }

    public uint Value { get; }

    /// <summary>How many 2-byte slots of the code array the operation takes (1 to 3).</summary>
    public int Slots => _slots;

    public int Register => OpInfo;

    public static string OpName(UnwindOp op) => op switch
    {
        UnwindOp.PushNonvol => "PUSH_NONVOL",
        UnwindOp.AllocLarge => "ALLOC_LARGE",
        UnwindOp.AllocSmall => "ALLOC_SMALL",
        UnwindOp.SetFpreg => "SET_FPREG",
        UnwindOp.SaveNonvol => "SAVE_NONVOL",
        UnwindOp.SaveNonvolFar => "SAVE_NONVOL_FAR",
        UnwindOp.Epilog => "EPILOG",
        UnwindOp.SpareCode => "SPARE_CODE",
        UnwindOp.SaveXmm128 => "SAVE_XMM128",
        UnwindOp.SaveXmm128Far => "SAVE_XMM128_FAR",
        UnwindOp.PushMachframe => "PUSH_MACHFRAME",
        _ => $"OP_{(byte)op}",
    };
}

/// <summary>x64 general-purpose register numbers as the unwind codes use them.</summary>
public static class X64Registers
{
    private static readonly string[] Names = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];

    public static string Name(int register) => (uint)register < (uint)Names.Length ? Names[register] : $"r?{register}";
}
