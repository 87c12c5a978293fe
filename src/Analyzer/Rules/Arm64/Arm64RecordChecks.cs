using System.Globalization;
using Pelint.Pe;
using Pelint.Pe.Exceptions.Arm64;

namespace Pelint.Rules;

/// <summary>How much a record problem matters: the unwinder goes wrong, or a reserved field is merely set.</summary>
internal enum Arm64RecordSeverity
{
    /// <summary>PE4002: the unwinder refuses the data or unwinds wrongly.</summary>
    Malformed,

    /// <summary>PE4003: reserved bits or codes the unwinder ignores today.</summary>
    Reserved,
}

/// <summary>One thing wrong with an .xdata record: its kind (a stable fingerprint part) and a sentence.</summary>
internal readonly record struct Arm64RecordProblem(Arm64RecordSeverity Severity, string Kind, string Message);

/// <summary>
/// The checks of one .xdata record against Microsoft's "ARM64 exception handling" and the
/// unwinder's own validation (RtlpUnwindFunctionFull as dotnet/runtime publishes it): header,
/// epilog scopes, and every code of the prolog's and each epilog's sequence.
/// </summary>
internal static class Arm64RecordChecks
{
    public static List<Arm64RecordProblem> Check(PeImage image, Arm64UnwindRecord record)
    {
        var problems = new List<Arm64RecordProblem>();
        var inv = CultureInfo.InvariantCulture;
        foreach (var p in record.Problems)
        {
            if (p.Code != ProblemCode.Arm64XdataUnmapped)
            {
                problems.Add(new(Arm64RecordSeverity.Malformed, "truncated", p.Message));
            }
        }

        if (record.Problems.Count > 0)
        {
            return problems;
        }

        if (record.Version != 0)
        {
            problems.Add(new(Arm64RecordSeverity.Malformed, "version", string.Create(inv, $"its version is {record.Version}; only 0 is defined and the unwinder refuses any other")));
            return problems;
        }

        if (record.FunctionLength == 0)
        {
            problems.Add(new(Arm64RecordSeverity.Malformed, "zero-length", "its function length is 0"));
        }

        if (record.ExtensionReserved != 0)
        {
            problems.Add(new(Arm64RecordSeverity.Reserved, "extension-reserved", string.Create(inv, $"the reserved bits 24-31 of its extension word are 0x{record.ExtensionReserved:X}")));
        }

        var codeBytes = record.Codes.Length;
        var sequences = new List<(string Name, int Start, bool Epilog)> { ("the prolog", 0, false) };
        if (record.EpilogInHeader)
        {
            if (record.EpilogCount >= codeBytes)
            {
                problems.Add(new(Arm64RecordSeverity.Malformed, "epilog-index", string.Create(inv, $"the header's epilog starts at code byte {record.EpilogCount}, past its {codeBytes} code bytes")));
            }
            else
            {
                sequences.Add(("the header's epilog", record.EpilogCount, true));
            }
        }
        else
        {
            for (var k = 0; k < record.Scopes.Count; k++)
            {
                var scope = record.Scopes[k];
                if (scope.Reserved != 0)
                {
                    problems.Add(new(Arm64RecordSeverity.Reserved, "scope-reserved", string.Create(inv, $"epilog scope {k} has its reserved bits 18-21 set (0x{scope.Reserved:X})")));
                }

                if (k > 0 && scope.StartOffset <= record.Scopes[k - 1].StartOffset)
                {
                    problems.Add(new(Arm64RecordSeverity.Malformed, "epilog-order", string.Create(inv,
                        $"epilog scope {k} starts at +0x{scope.StartOffset:X}, not after scope {k - 1} at +0x{record.Scopes[k - 1].StartOffset:X}; the unwinder stops at the first scope past the PC, so it misses epilogs listed out of order")));
                }

                if (scope.StartOffset >= record.FunctionLength)
                {
                    problems.Add(new(Arm64RecordSeverity.Malformed, "epilog-past-end", string.Create(inv, $"epilog scope {k} starts at +0x{scope.StartOffset:X}, at or past the function's end (+0x{record.FunctionLength:X})")));
                }

                if (scope.StartIndex >= codeBytes)
                {
                    problems.Add(new(Arm64RecordSeverity.Malformed, "epilog-index", string.Create(inv, $"epilog scope {k} starts at code byte {scope.StartIndex}, past its {codeBytes} code bytes")));
                }
                else
                {
                    sequences.Add((string.Create(inv, $"epilog {k}"), scope.StartIndex, true));
                }
            }
        }

        // Scopes that share a start share its codes: decoded once (a record may list thousands of scopes).
        var decoded = new Dictionary<int, (List<Arm64UnwindCode> Codes, bool Terminated, bool Truncated)>();
        foreach (var (name, start, epilog) in sequences)
        {
            if (!decoded.TryGetValue(start, out var sequence))
            {
                sequence.Codes = record.DecodeSequence(start, out sequence.Terminated, out sequence.Truncated);
                decoded.Add(start, sequence);
            }

            CheckSequence(name, sequence.Codes, sequence.Terminated, sequence.Truncated, problems);
        }

        if (record.HasHandler && record.HandlerRva is { } handler && image.Map.FindSection(handler) is not { IsExecutable: true })
        {
            problems.Add(new(Arm64RecordSeverity.Malformed, "handler-outside", string.Create(inv, $"its exception handler RVA 0x{handler:X} is not in an executable section")));
        }

        return problems;
    }

    // Every code from start to the sequence's end: rejected and reserved codes, codes cut off by
    // the array's end, save_next not leading to a pair save, registers past x30/d31, end_c twice.
    private static void CheckSequence(string name, List<Arm64UnwindCode> codes, bool terminated, bool truncated, List<Arm64RecordProblem> problems)
    {
        var inv = CultureInfo.InvariantCulture;
        var pendingNext = 0;
        var endCs = 0;
        for (var k = 0; k < codes.Count; k++)
        {
            var c = codes[k];
            if (truncated && k == codes.Count - 1)
            {
                problems.Add(new(Arm64RecordSeverity.Malformed, "code-truncated", string.Create(inv, $"in {name}, code {c.Hex} at byte {c.Index} needs {Arm64UnwindCode.LengthOf(c.First)} bytes but the code array ends")));
                return;
            }

            if (c.IsRejected)
            {
                problems.Add(new(Arm64RecordSeverity.Malformed, "reserved-code", string.Create(inv, $"in {name}, code {c.Hex} at byte {c.Index} is {(c.Op == Arm64UnwindOp.SaveAnyReg ? "an invalid save_any_reg" : "reserved")}; the unwinder fails on it (STATUS_UNWIND_INVALID_SEQUENCE)")));
                return;
            }

            if (c.Op == Arm64UnwindOp.ReservedNop)
            {
                problems.Add(new(Arm64RecordSeverity.Reserved, "reserved-nop", string.Create(inv, $"in {name}, code {c.Hex} at byte {c.Index} is reserved; the unwinder skips it as a nop today")));
            }

            if (c.Op == Arm64UnwindOp.EndC && ++endCs == 2)
            {
                problems.Add(new(Arm64RecordSeverity.Malformed, "end-c", string.Create(inv, $"in {name}, a second end_c at byte {c.Index}: one end_c separates a fragment's codes from its parent's, which end with end")));
            }

            if (pendingNext > 0 && c.Op != Arm64UnwindOp.SaveNext && !c.AcceptsSaveNext)
            {
                problems.Add(new(Arm64RecordSeverity.Malformed, "save-next", string.Create(inv,
                    $"in {name}, save_next before byte {c.Index} is followed by {c.Name}, not by a register-pair save; the unwinder fails on it (STATUS_UNWIND_INVALID_SEQUENCE)")));
                return;
            }

            if (c.Op == Arm64UnwindOp.SaveNext)
            {
                pendingNext++;
                continue;
            }

            if (c.RegisterKind is Arm64RegisterKind.X or Arm64RegisterKind.D or Arm64RegisterKind.Q && c.Op != Arm64UnwindOp.SaveLrPair)
            {
                var count = (c.Paired ? 2 : 1) + (2 * pendingNext);
                var limit = c.RegisterKind == Arm64RegisterKind.X ? 31 : 32;
                if (c.Register + count > limit)
                {
                    problems.Add(new(Arm64RecordSeverity.Malformed, "register-range", string.Create(inv,
                        $"in {name}, {c.Name} at byte {c.Index}{(pendingNext > 0 ? $" with {pendingNext} save_next" : string.Empty)} restores {count} registers from {(c.RegisterKind == Arm64RegisterKind.X ? "x" : "d")}{c.Register}, past {(limit == 31 ? "x30" : "d31")}; the unwinder fails on it")));
                }
            }

            pendingNext = 0;
        }

        if (pendingNext > 0)
        {
            problems.Add(new(Arm64RecordSeverity.Malformed, "save-next", string.Create(inv, $"{name} ends with save_next, which leads to no register-pair save")));
        }
        else if (!terminated && !truncated)
        {
            problems.Add(new(Arm64RecordSeverity.Reserved, "no-end", string.Create(inv, $"the codes of {name} run to the end of the code array without an end code; the unwinder stops there, the format requires end")));
        }
    }
}
