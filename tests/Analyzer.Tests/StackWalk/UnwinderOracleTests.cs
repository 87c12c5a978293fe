using Pelint.Analysis.StackWalk;
using Pelint.Pe;
using Pelint.Pe.Exceptions;
using Pelint.Testing;
using Pelint.Testing.Oracles;
using Pelint.Tests.Oracles;
using Xunit.Abstractions;

namespace Pelint.Tests.StackWalk;

/// <summary>
/// The verifier's unwinder model (<see cref="VirtualUnwinder"/>) against a real RtlVirtualUnwind
/// (Wine 8's, through tests/oracles/winunwind): at sampled instructions of real images and of
/// the samples, the true state the verifier computed is turned into a CONTEXT and a stack
/// (stack addresses as offsets into the harness's stack, the caller's registers and the return
/// address as marker values), both unwinders run from it, and the caller RSP, the return address
/// and every register restored (value and slot) must agree. Where Wine 8 is known to differ from
/// Microsoft (tests/oracles/winunwind/README.md) the instruction is left out; those cases are
/// pinned to Microsoft's algorithm by <see cref="VirtualUnwinderTests"/>.
/// </summary>
[Collection(WineOracleCollection.Name)]
public sealed class UnwinderOracleTests(WineOracleFixture oracle, ITestOutputHelper output)
{
    // The harness's synthetic stack is 1 MiB: entry RSP sits in its middle.
    private const long EntryRsp = 0x80000;
    private const ulong EntryMarker = 0x4E00_0000_0000_0000;
    private const ulong ReturnMarker = 0x4D00_0000_0000_0000;
    private const ulong UnknownMarker = 0x5500_0000_0000_0000;

    public static TheoryData<string, int> Images() => new()
    {
        { TestPaths.RuntimeDll("coreclr.dll"), 60 },
        { TestPaths.RuntimeDll("clrjit.dll"), 60 },
        { TestPaths.RuntimeDll("hostfxr.dll"), 8 },
        { TestPaths.RuntimeDll("System.IO.Compression.Native.dll"), 8 },
        { Path.Combine(TestPaths.SamplesBin, "epilog-legal.x64.exe"), 1 },
        { Path.Combine(TestPaths.SamplesBin, "epilog-scheduled.x64.exe"), 1 },
        { Path.Combine(TestPaths.SamplesBin, "epilog-mismatch.x64.exe"), 1 },
        { Path.Combine(TestPaths.SamplesBin, "epilog-undocumented.x64.exe"), 1 },
        { Path.Combine(TestPaths.SamplesBin, "unwind-chained.x64.exe"), 1 },
        { Path.Combine(TestPaths.SamplesBin, "seh-scopes.x64.exe"), 1 },
        { Path.Combine(TestPaths.SamplesBin, "stackwalk-harmless.x64.exe"), 1 },
        { Path.Combine(TestPaths.SamplesBin, "stackwalk-hazards.x64.exe"), 1 },
    };

    [SkippableTheory]
    [MemberData(nameof(Images))]
    public void Model_and_a_real_unwinder_agree_on_the_caller_and_the_restored_registers(string path, int everyNthFunction)
    {
        WineOracleFixture.RequireOracle();
        using var image = PeImage.Open(path).Image!;
        var wine = oracle.For(path);
        var model = new VirtualUnwinder(image);
        var queries = new List<(uint Rva, RuntimeFunction Entry, StackState State)>();
        var index = 0;
        foreach (var _ in StackWalkAnalysis.VerifyEach(image, _ => index++ % everyNthFunction == 0, null,
            (rva, entry, state) =>
            {
                if (queries.Count < 1500 && Comparable(image, entry, rva, state))
                {
                    queries.Add((rva, entry, state.Clone()));
                }
            }))
        {
        }

        var compared = 0;
        var fields = 0;
        var mismatches = new List<string>();
        foreach (var (rva, entry, state) in queries)
        {
            var outcome = model.Unwind(entry, rva, state);
            if (outcome.Failure != UnwindFailure.None || (outcome.Path == UnwindPath.EpilogScan && !ScanAgrees(image, entry, rva)))
            {
                continue;
            }

            var answer = wine.Unwind(Query(rva, entry, state));
            compared++;
            if (outcome.Rsp.Kind == SymKind.Entry)
            {
                // The walk reads the return address through a register's caller value (Go's nop
                // after pop rbp: RSP from the caller's rbp). The harness gives such values
                // non-canonical markers, so a real unwinder must fault reading it.
                Assert.True(answer.Outcome == UnwindOutcome.Failed && answer.Error!.Contains("0xc0000005", StringComparison.Ordinal),
                    $"0x{rva:X} ({outcome.Path}): the model reads the return address at {outcome.Rsp}-8, Wine: {answer.Outcome} {answer.Error}");
                continue;
            }

            Assert.True(answer.Outcome == UnwindOutcome.Unwound, $"0x{rva:X} ({outcome.Path}): Wine: {answer.Outcome} {answer.Error}");
            void Check(string what, Sym expected, StackValue actual)
            {
                if (Value(expected) is { } want)
                {
                    fields++;
                    if (want != actual)
                    {
                        mismatches.Add($"0x{rva:X} ({outcome.Path}): {what}: model {expected} = {want}, Wine {actual}");
                    }
                }
            }

            Check("rsp", outcome.Rsp, answer.Rsp);
            Check("rip", outcome.Rip, answer.Rip);
            var chained = RawUnwindInfo.TryRead(image, entry.UnwindData, out var info) && info.IsChained;
            for (var r = 0; r < 16; r++)
            {
                if (r == StackState.Rsp || chained)
                {
                    continue; // Wine's save base differs for chained fragments (README of the oracle).
                }

                var restored = outcome.WasRestored(r, out var slot);
                if (restored != answer.RestoredFrom.ContainsKey((Gpr)r))
                {
                    mismatches.Add($"0x{rva:X} ({outcome.Path}): {X64Registers.Name(r)} restored by {(restored ? "the model" : "Wine")} only");
                }
                else if (restored)
                {
                    Check($"{X64Registers.Name(r)} slot", slot, answer.RestoredFrom[(Gpr)r]);
                    Check(X64Registers.Name(r), outcome[r], answer[(Gpr)r]);
                }
            }
        }

        output.WriteLine($"{Path.GetFileName(path)}: {queries.Count} instructions sampled, {compared} compared with Wine, {fields} fields equal or not: {mismatches.Count} mismatches");
        Assert.True(compared > 0, "nothing was compared");
        Assert.Empty(mismatches.Take(20));
    }

    // Instructions where Wine 8 and Microsoft agree: version 1 codes, at least one code, no chain cycles.
    private static bool Comparable(PeImage image, RuntimeFunction entry, uint rva, StackState state)
    {
        if (!RawUnwindInfo.TryRead(image, entry.UnwindData, out var info) || info.Version != 1 || info.CountOfCodes == 0)
        {
            return false;
        }

        // Wine accepts lea rsp, [any register + d] as an epilog's start (Microsoft only the frame register).
        Span<byte> b = stackalloc byte[3];
        using var reader = image.OpenReader();
        if (reader.TryRead(rva, 3, b, out var bytes) && (bytes[0] & 0xFE) == 0x48 && bytes[1] == 0x8D && (bytes[2] & 0x38) == 0x20)
        {
            return false;
        }

        // Every stack address must fit in the harness's stack.
        for (var r = 0; r < 16; r++)
        {
            if (state[r].IsStack && Math.Abs(state[r].Offset) > EntryRsp - 0x1000)
            {
                return false;
            }
        }

        return state.StackPointer.IsStack;
    }

    // Whether the epilog Microsoft's scan recognised ends in a form Wine 8 also takes for one:
    // ret or rep ret (not a jmp, not ret imm16, no F2 prefix), and starts outside the prolog.
    private static bool ScanAgrees(PeImage image, RuntimeFunction entry, uint rva)
    {
        Span<byte> scratch = stackalloc byte[64];
        using var reader = image.OpenReader();
        if (!reader.TryRead(rva, 64, scratch, out var b) || !RawUnwindInfo.TryRead(image, entry.UnwindData, out var info)
            || rva - entry.BeginAddress < info.SizeOfProlog)
        {
            return false;
        }

        var at = b[0] == 0x48 && b[1] is 0x83 or 0x81 && b[2] == 0xC4 ? (b[1] == 0x83 ? 4 : 7)
            : (b[0] & 0xFE) == 0x48 && b[1] == 0x8D ? ((b[2] & 0xF8) == 0x60 ? 4 : 7)
            : 0;
        while (at < 60 && ((b[at] & 0xF8) == 0x58 || ((b[at] & 0xF0) == 0x40 && (b[at + 1] & 0xF8) == 0x58)))
        {
            at += (b[at] & 0xF8) == 0x58 ? 1 : 2;
        }

        return at < 60 && (b[at] == 0xC3 || (b[at] == 0xF3 && b[at + 1] == 0xC3));
    }

    private static UnwindQuery Query(uint rva, RuntimeFunction entry, StackState state)
    {
        var query = new UnwindQuery { ControlPc = rva, FunctionIndex = entry.Index };
        for (var r = 0; r < 16; r++)
        {
            query = query.With((Gpr)r, Value(state[r]) ?? StackValue.Literal(UnknownMarker | (uint)r));
        }

        for (var k = 0; k < state.SlotCount; k++)
        {
            var (offset, value) = state.Slot(k);
            if ((offset & 7) == 0 && Value(value) is { } v && Math.Abs(offset) < EntryRsp - 0x1000)
            {
                query = query.WithSlot((uint)(EntryRsp + offset), v);
            }
        }

        return query;
    }

    // A symbolic value as the harness sees it; null when nothing is known about it.
    private static StackValue? Value(Sym value) => value.Kind switch
    {
        SymKind.Stack => StackValue.Stack((ulong)(EntryRsp + value.Offset)),
        SymKind.Entry => StackValue.Literal(EntryMarker | ((ulong)(uint)value.Register << 40) | ((ulong)value.Offset & 0xFF_FFFF_FFFF)),
        SymKind.ReturnAddress => StackValue.Literal(ReturnMarker + (ulong)value.Offset),
        SymKind.Constant => StackValue.Literal((ulong)value.Offset),
        _ => null,
    };
}
