namespace Pelint.Analysis.StackWalk;

/// <summary>Where the unwinder found the instruction it was asked about.</summary>
public enum UnwindPath : byte
{
    /// <summary>Outside any epilog: the unwind codes were applied (those of the prolog up to the instruction, or all).</summary>
    Codes,

    /// <summary>In an epilog recognised by the forward scan of the code (version 1): the rest of it was simulated.</summary>
    EpilogScan,

    /// <summary>In an epilog listed by version 2 UWOP_EPILOG codes: the pushes still on the stack were popped.</summary>
    EpilogCodes,
}

/// <summary>Why the unwinder gave up (the real one would fail or assert).</summary>
public enum UnwindFailure : byte
{
    None,

    /// <summary>An UNWIND_INFO of the chain is not in the file.</summary>
    InfoUnreadable,

    /// <summary>An op the unwinder does not know, or codes that run past their count.</summary>
    BadCodes,

    /// <summary>More than 32 chained links.</summary>
    ChainTooLong,

    /// <summary>Unwind info of a version the model does not implement (version 3, APX).</summary>
    UnsupportedVersion,
}

/// <summary>
/// What one virtual unwind computed: the caller's RIP and RSP, every register afterwards, and
/// for each register restored from memory the stack address it was read from. Reused by its
/// unwinder for every query (no allocation per instruction).
/// </summary>
public sealed class UnwindResult
{
    // Stack slots one unwind reads: the pushes and saves of a function's codes, the return address.
    private const int MaxReads = 32;

    private readonly Sym[] _registers = new Sym[16];
    private readonly Sym[] _readAddresses = new Sym[MaxReads];
    private readonly Sym[] _readValues = new Sym[MaxReads];
    // Read only for the registers of _restored (a bit each), so never cleared.
    private readonly Sym[] _restoredFrom = new Sym[16];
    private int _restored;

    public Sym Rip { get; internal set; }

    public Sym Rsp
    {
        get => _registers[StackState.Rsp];
        internal set => _registers[StackState.Rsp] = value;
    }

    public UnwindPath Path { get; internal set; }

    public UnwindFailure Failure { get; internal set; }

    /// <summary>Register <paramref name="register"/> after the unwind.</summary>
    public Sym this[int register] => _registers[register];

    /// <summary>Whether the unwind read register <paramref name="register"/> from memory, and from where.</summary>
    public bool WasRestored(int register, out Sym address)
    {
        var restored = (_restored & (1 << register)) != 0;
        address = restored ? _restoredFrom[register] : default;
        return restored;
    }

    internal Sym[] Registers => _registers;

    /// <summary>The registers the unwind read from memory, a bit each (register 0 in bit 0).</summary>
    internal int RestoredRegisters => _restored;

    /// <summary>How many stack slots the unwind read; -1 when it read more than it keeps a list of.</summary>
    internal int ReadCount { get; private set; }

    internal (Sym Address, Sym Value) ReadAt(int index) => (_readAddresses[index], _readValues[index]);

    /// <summary>The slot at <paramref name="address"/> of <paramref name="state"/>, noted as read.</summary>
    internal Sym Read(StackState state, Sym address)
    {
        var value = state.Read(address);
        if (ReadCount >= 0 && ReadCount < MaxReads)
        {
            _readAddresses[ReadCount] = address;
            _readValues[ReadCount] = value;
            ReadCount++;
        }
        else
        {
            ReadCount = -1;
        }

        return value;
    }

    internal void Reset(StackState state)
    {
        // Block copies: this runs for every instruction the answer is not reused at.
        state.Registers.CopyTo(_registers);
        _restored = 0;

        Rip = Sym.Unknown;
        ReadCount = 0;
        Path = UnwindPath.Codes;
        Failure = UnwindFailure.None;
    }

    internal void Restore(int register, Sym address, Sym value)
    {
        _registers[register] = value;
        _restored |= 1 << register;
        _restoredFrom[register] = address;
    }
}
