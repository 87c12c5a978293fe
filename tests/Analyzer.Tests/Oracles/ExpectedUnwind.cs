using System.Globalization;
using System.Text.RegularExpressions;
using Pelint.Testing.Oracles;

namespace Pelint.Tests.Oracles;

/// <summary>
/// What an unwind from a frame without a frame register must produce, in stack offsets: the
/// caller's RSP, the slot the return address is read from, and the slot each restored register
/// is read from. Registers not listed must come back as the query gave them.
/// </summary>
internal sealed partial record ExpectedUnwind(ulong CallerRsp, ulong ReturnSlot, IReadOnlyDictionary<Gpr, ulong> Restored)
{
    public static ExpectedUnwind Of(ulong callerRsp, ulong returnSlot, params (Gpr Register, ulong Slot)[] restored) =>
        new(callerRsp, returnSlot, restored.ToDictionary(r => r.Register, r => r.Slot));

    /// <summary>
    /// The unwind GNU objdump's listing of a function's codes implies, by the x64 unwind rules
    /// (tests/oracles/winunwind/README.md): inside the prolog (<paramref name="prologOffset"/> &lt;
    /// <paramref name="prologSize"/>) only codes whose offset is at most the prolog offset are
    /// undone, elsewhere all of them, in the listed (reverse) order; a push pops one slot, an
    /// allocation moves RSP, a save reads the slot at the frame base (RSP on entry) plus its
    /// offset. Null for codes this test-side reading does not cover (frame register, XMM saves).
    /// </summary>
    public static ExpectedUnwind? FromObjdump(IEnumerable<string> codes, int prologSize, int prologOffset, ulong rsp)
    {
        var inProlog = prologOffset < prologSize;
        var current = rsp;
        var restored = new Dictionary<Gpr, ulong>();
        foreach (var code in codes)
        {
            var m = CodeText().Match(code);
            if (!m.Success)
            {
                return null;
            }

            var offset = int.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (inProlog && offset > prologOffset)
            {
                continue;
            }

            var text = m.Groups[2].Value;
            if (Push().Match(text) is { Success: true } push && Register(push.Groups[1].Value) is { } pushed)
            {
                restored[pushed] = current;
                current += 8;
            }
            else if (Alloc().Match(text) is { Success: true } alloc)
            {
                current += ulong.Parse(alloc.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
            else if (Save().Match(text) is { Success: true } save && Register(save.Groups[1].Value) is { } saved)
            {
                restored[saved] = rsp + ulong.Parse(save.Groups[2].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
            else
            {
                return null;
            }
        }

        return new ExpectedUnwind(current + 8, current, restored);
    }

    /// <summary>Checks an answer against this expectation, for the query that produced it.</summary>
    public void AssertMatches(UnwindQuery query, UnwindAnswer answer, string? context = null)
    {
        var where = context is null ? "" : context + ": ";
        Assert.True(answer.Outcome == UnwindOutcome.Unwound, $"{where}{answer.Outcome} {answer.Error}");
        Assert.True(StackValue.Stack(CallerRsp) == answer.Rsp, $"{where}caller RSP: expected {StackValue.Stack(CallerRsp)}, got {answer.Rsp}\n{answer.Raw}");
        Assert.True(SlotValue(query, ReturnSlot) == answer.Rip, $"{where}RIP: expected the value at s+0x{ReturnSlot:x} ({SlotValue(query, ReturnSlot)}), got {answer.Rip}\n{answer.Raw}");
        for (var r = Gpr.Rax; r <= Gpr.R15; r++)
        {
            if (r == Gpr.Rsp)
            {
                continue;
            }

            if (Restored.TryGetValue(r, out var slot))
            {
                Assert.True(SlotValue(query, slot) == answer[r], $"{where}{r}: expected the value at s+0x{slot:x}, got {answer[r]}\n{answer.Raw}");
                Assert.True(answer.RestoredFrom.TryGetValue(r, out var from) && from == StackValue.Stack(slot),
                    $"{where}{r}: expected KNONVOLATILE_CONTEXT_POINTERS to name s+0x{slot:x}\n{answer.Raw}");
            }
            else
            {
                var given = query.Registers.TryGetValue(r, out var v) ? v : UnwindQuery.Marker(r);
                Assert.True(given == answer[r], $"{where}{r}: expected it unchanged ({given}), got {answer[r]}\n{answer.Raw}");
                Assert.False(answer.RestoredFrom.ContainsKey(r), $"{where}{r} reported as restored from memory\n{answer.Raw}");
            }
        }
    }

    private static StackValue SlotValue(UnwindQuery query, ulong slot) =>
        query.Stack.TryGetValue((uint)slot, out var v) ? v : StackValue.Poison(slot);

    private static Gpr? Register(string name) => Enum.TryParse<Gpr>(name, ignoreCase: true, out var r) ? r : null;

    [GeneratedRegex(@"^([0-9a-f]+) (.*)$")]
    private static partial Regex CodeText();

    [GeneratedRegex(@"^push (\w+)$")]
    private static partial Regex Push();

    [GeneratedRegex(@"^alloc (?:small|large) area: rsp = rsp - 0x([0-9a-f]+)$")]
    private static partial Regex Alloc();

    [GeneratedRegex(@"^save (r\w+) at rsp \+ 0x([0-9a-f]+)$")]
    private static partial Regex Save();
}
