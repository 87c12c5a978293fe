using System.Globalization;

namespace Pelint.Testing.Oracles;

/// <summary>x64 general-purpose registers, numbered as in UNWIND_CODE OpInfo and in CONTEXT (Rax first).</summary>
public enum Gpr
{
    Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi, R8, R9, R10, R11, R12, R13, R14, R15,
}

/// <summary>The HandlerType argument of RtlVirtualUnwind (UNW_FLAG_NHANDLER, _EHANDLER, _UHANDLER).</summary>
[Flags]
public enum UnwindHandlerType
{
    None = 0,
    Exception = 1,
    Unwind = 2,
}

/// <summary>
/// A register or stack-slot value as the oracle sees it: either a literal 64-bit value, or an
/// offset into the harness's synthetic stack (so that no real address crosses the protocol).
/// </summary>
public readonly record struct StackValue(bool IsStackOffset, ulong Value)
{
    /// <summary>The value at stack offset <c>o</c> that nothing wrote: <c>0xBAD5000000000000 | o</c>.</summary>
    public const ulong PoisonBase = 0xBAD5_0000_0000_0000;

    public static StackValue Literal(ulong value) => new(false, value);

    public static StackValue Stack(ulong offset) => new(true, offset);

    /// <summary>What the harness reads from stack offset <paramref name="offset"/> when the query wrote nothing there.</summary>
    public static StackValue Poison(ulong offset) => Literal(PoisonBase | offset);

    /// <summary>Protocol form: <c>0x1f</c> for a literal, <c>s+0x1f</c> for a stack offset.</summary>
    public override string ToString() => IsStackOffset
        ? "s+0x" + Value.ToString("x", CultureInfo.InvariantCulture)
        : "0x" + Value.ToString("x", CultureInfo.InvariantCulture);

    public static StackValue Parse(string text)
    {
        var stack = text.StartsWith("s+", StringComparison.Ordinal);
        var number = stack ? text[2..] : text;
        if (!number.StartsWith("0x", StringComparison.Ordinal)
            || !ulong.TryParse(number.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
        {
            throw new FormatException($"not a stack value: '{text}'");
        }

        return new StackValue(stack, value);
    }
}

/// <summary>
/// One RtlVirtualUnwind call: the control PC as an RVA, the .pdata entry to use (or a lookup), the
/// 16 registers of the context and the 8-byte slots written into the synthetic stack. Registers
/// the query does not name get <see cref="Marker"/> values, so an answer shows which ones the
/// unwinder restored. <see cref="Gpr.Rsp"/> must be given.
/// </summary>
public sealed record UnwindQuery
{
    public required uint ControlPc { get; init; }

    /// <summary>Index of the RUNTIME_FUNCTION in .pdata; null: the harness binary-searches .pdata for <see cref="ControlPc"/>. Low-bit (indirect) entries are resolved either way.</summary>
    public int? FunctionIndex { get; init; }

    public UnwindHandlerType HandlerType { get; init; }

    public IReadOnlyDictionary<Gpr, StackValue> Registers { get; init; } = new Dictionary<Gpr, StackValue>();

    /// <summary>Stack offset (8-aligned) to the 8-byte value written there before the call.</summary>
    public IReadOnlyDictionary<uint, StackValue> Stack { get; init; } = new Dictionary<uint, StackValue>();

    /// <summary>A query at <paramref name="controlPc"/> with RSP at <paramref name="rspOffset"/> in the synthetic stack.</summary>
    public static UnwindQuery At(uint controlPc, uint rspOffset) =>
        new() { ControlPc = controlPc, Registers = new Dictionary<Gpr, StackValue> { [Gpr.Rsp] = StackValue.Stack(rspOffset) } };

    /// <summary>The literal a register not named in a query holds: <c>0x6E6F0000000000nn</c>, nn = register number.</summary>
    public static StackValue Marker(Gpr register) => StackValue.Literal(0x6E6F_0000_0000_0000UL | (ulong)register);

    public UnwindQuery With(Gpr register, StackValue value) =>
        this with { Registers = new Dictionary<Gpr, StackValue>(Registers) { [register] = value } };

    public UnwindQuery WithSlot(uint offset, StackValue value) =>
        this with { Stack = new Dictionary<uint, StackValue>(Stack) { [offset] = value } };

    /// <summary>The request line of the harness protocol (tests/oracles/winunwind/README.md).</summary>
    public string ToProtocolLine(long id)
    {
        if (!Registers.ContainsKey(Gpr.Rsp))
        {
            throw new InvalidOperationException("a query needs RSP");
        }

        var line = new System.Text.StringBuilder(256);
        line.Append(CultureInfo.InvariantCulture, $"q id={id} pc=0x{ControlPc:x} fn={(FunctionIndex is { } index ? index.ToString(CultureInfo.InvariantCulture) : "auto")} type={(int)HandlerType}");
        for (var r = Gpr.Rax; r <= Gpr.R15; r++)
        {
            line.Append(' ').Append(r.ToString().ToLowerInvariant()).Append('=').Append(Registers.TryGetValue(r, out var v) ? v : Marker(r));
        }

        if (Stack.Count > 0)
        {
            line.Append(" m=");
            var first = true;
            foreach (var (offset, value) in Stack.OrderBy(s => s.Key))
            {
                if (offset % 8 != 0)
                {
                    throw new InvalidOperationException($"stack offset 0x{offset:x} is not 8-aligned");
                }

                line.Append(first ? "" : ",").Append(CultureInfo.InvariantCulture, $"0x{offset:x}:{value}");
                first = false;
            }
        }

        return line.ToString();
    }
}

public enum UnwindOutcome
{
    /// <summary>RtlVirtualUnwind returned; the fields hold the unwound context.</summary>
    Unwound,

    /// <summary>The harness refused the query or the unwinder raised an exception (<see cref="UnwindAnswer.Error"/> says which).</summary>
    Failed,

    /// <summary>The call did not return within the client's time bound; the harness was killed and will be restarted.</summary>
    Hang,
}

/// <summary>What RtlVirtualUnwind returned for one <see cref="UnwindQuery"/>.</summary>
public sealed record UnwindAnswer
{
    public required UnwindOutcome Outcome { get; init; }

    /// <summary>For <see cref="UnwindOutcome.Failed"/> and <see cref="UnwindOutcome.Hang"/>: why.</summary>
    public string? Error { get; init; }

    /// <summary>RVA of the RUNTIME_FUNCTION passed to the unwinder (after low-bit entries were resolved).</summary>
    public uint FunctionEntryRva { get; init; }

    public StackValue Rip { get; init; }

    /// <summary>The 16 registers after the unwind, indexed by <see cref="Gpr"/>.</summary>
    public IReadOnlyList<StackValue> Registers { get; init; } = [];

    public StackValue Rsp => Registers[(int)Gpr.Rsp];

    public StackValue EstablisherFrame { get; init; }

    /// <summary>RVA of the language handler returned, or null.</summary>
    public uint? HandlerRva { get; init; }

    /// <summary>RVA of the handler data returned, or null.</summary>
    public uint? HandlerDataRva { get; init; }

    /// <summary>Registers restored from memory (KNONVOLATILE_CONTEXT_POINTERS.IntegerContext), with the slot each was read from.</summary>
    public IReadOnlyDictionary<Gpr, StackValue> RestoredFrom { get; init; } = new Dictionary<Gpr, StackValue>();

    /// <summary>XMM registers restored from memory (FloatingContext), by register number.</summary>
    public IReadOnlyDictionary<int, StackValue> XmmRestoredFrom { get; init; } = new Dictionary<int, StackValue>();

    /// <summary>The harness's answer line (or the client's note for a hang).</summary>
    public string Raw { get; init; } = "";

    public StackValue this[Gpr register] => Registers[(int)register];

    /// <summary>Parses one answer line of the harness protocol.</summary>
    public static UnwindAnswer Parse(string line)
    {
        var tokens = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (tokens.Length > 0 && tokens[0] == "err")
        {
            var message = string.Join(' ', tokens.Skip(1).Where(t => !t.StartsWith("id=", StringComparison.Ordinal)));
            return new UnwindAnswer { Outcome = UnwindOutcome.Failed, Error = message, Raw = line };
        }

        if (tokens.Length == 0 || tokens[0] != "ok")
        {
            throw new FormatException($"unexpected harness answer: '{line}'");
        }

        var fields = tokens.Skip(1).Select(t => t.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");
        var registers = new StackValue[16];
        for (var r = Gpr.Rax; r <= Gpr.R15; r++)
        {
            registers[(int)r] = StackValue.Parse(fields[r.ToString().ToLowerInvariant()]);
        }

        var from = new Dictionary<Gpr, StackValue>();
        var xmm = new Dictionary<int, StackValue>();
        foreach (var item in Items(fields["from"]))
        {
            from[Enum.Parse<Gpr>(item.Name, ignoreCase: true)] = item.Value;
        }

        foreach (var item in Items(fields["xfrom"]))
        {
            xmm[int.Parse(item.Name.AsSpan(3), CultureInfo.InvariantCulture)] = item.Value;
        }

        return new UnwindAnswer
        {
            Outcome = UnwindOutcome.Unwound,
            FunctionEntryRva = (uint)StackValue.Parse(fields["fn"]).Value,
            Rip = StackValue.Parse(fields["rip"]),
            Registers = registers,
            EstablisherFrame = StackValue.Parse(fields["frame"]),
            HandlerRva = Rva(fields["handler"]),
            HandlerDataRva = Rva(fields["data"]),
            RestoredFrom = from,
            XmmRestoredFrom = xmm,
            Raw = line,
        };

        static uint? Rva(string text) => text == "-" ? null : (uint)StackValue.Parse(text).Value;

        static IEnumerable<(string Name, StackValue Value)> Items(string list) => list == "-"
            ? []
            : list.Split(',').Select(i => i.Split('@', 2)).Select(p => (p[0], StackValue.Parse(p[1])));
    }
}
