namespace Pelint.Pe.Exceptions;

/// <summary>UNWIND_CODE operation (low nibble of the code's second byte).</summary>
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

/// <summary>UNWIND_INFO flags (byte 0 &gt;&gt; 3).</summary>
[Flags]
public enum UnwindFlags : byte
{
    None = 0,
    EHandler = 1,
    UHandler = 2,
    ChainInfo = 4,
}

/// <summary>Names as Microsoft writes them (UWOP_*, UNW_FLAG_*), and x64 register names.</summary>
public static class UnwindNames
{
    private static readonly string[] Registers =
        ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];

    public static string Register(int number) => (uint)number < 16 ? Registers[number] : $"r?{number}";

    public static string Op(UnwindOp op) => op switch
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
        _ => $"UNKNOWN_{(int)op}",
    };

    public static IReadOnlyList<string> Flags(UnwindFlags flags)
    {
        var list = new List<string>(3);
        if ((flags & UnwindFlags.EHandler) != 0)
        {
            list.Add("EHANDLER");
        }

        if ((flags & UnwindFlags.UHandler) != 0)
        {
            list.Add("UHANDLER");
        }

        if ((flags & UnwindFlags.ChainInfo) != 0)
        {
            list.Add("CHAININFO");
        }

        return list;
    }
}
