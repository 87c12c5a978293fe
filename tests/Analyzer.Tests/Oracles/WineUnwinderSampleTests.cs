using Pelint.Testing;
using Pelint.Testing.Oracles;
using Pelint.Tests.Exceptions;

namespace Pelint.Tests.Oracles;

/// <summary>
/// The Wine-hosted RtlVirtualUnwind on the hand-written samples (samples/src/*.asm). Expected
/// values come from the samples' sources and GNU objdump's listing of their unwind codes, never
/// from pelint: each test first checks that objdump prints the codes the arithmetic assumes.
/// Stack layout in every query: RSP at offset 0x1000 of the harness's stack, the return address
/// written as a literal, every other slot left at the harness's poison value for its offset.
/// </summary>
[Collection(WineOracleCollection.Name)]
public sealed class WineUnwinderSampleTests(WineOracleFixture oracle)
{
    private const ulong ReturnAddress = 0x1_4000_1234;

    private static string EpilogLegal => Path.Combine(TestPaths.SamplesBin, "epilog-legal.x64.exe");

    private static string UnwindChained => Path.Combine(TestPaths.SamplesBin, "unwind-chained.x64.exe");

    private static readonly Lazy<IReadOnlyList<ObjdumpFunction>> EpilogLegalListing = new(() => ObjdumpUnwindListing.Run(EpilogLegal));

    private static readonly Lazy<IReadOnlyList<ObjdumpFunction>> UnwindChainedListing = new(() => ObjdumpUnwindListing.Run(UnwindChained));

    // add_pops: push rbx (40 53); push rsi; push r12; sub rsp, 0x20.
    private static ObjdumpFunction AddPops()
    {
        var f = EpilogLegalListing.Value[1];
        Assert.Equal(["09 alloc small area: rsp = rsp - 0x20", "05 push r12", "03 push rsi", "02 push rbx"], f.Codes);
        Assert.Equal(9, f.PrologSize);
        return f;
    }

    [SkippableFact]
    public void Body_of_a_function_with_pushes_and_an_allocation()
    {
        var f = AddPops();
        var unwinder = oracle.For(EpilogLegal);
        var query = UnwindQuery.At(f.Begin + 9, 0x1000).WithSlot(0x1038, StackValue.Literal(ReturnAddress));

        var answer = unwinder.Unwind(query);

        // 0x20 allocated, then r12, rsi, rbx and the return address above it: caller RSP = RSP + 0x38 + 8.
        ExpectedUnwind.Of(0x1040, 0x1038, (Gpr.R12, 0x1020), (Gpr.Rsi, 0x1028), (Gpr.Rbx, 0x1030)).AssertMatches(query, answer);
        Assert.Equal(StackValue.Literal(ReturnAddress), answer.Rip);
        Assert.Equal(StackValue.Stack(0x1000), answer.EstablisherFrame);
        Assert.Null(answer.HandlerRva);
        Assert.Equal(UnwindImageEntry(EpilogLegal, 1), answer.FunctionEntryRva);
    }

    [SkippableFact]
    public void Inside_the_prolog_only_the_codes_at_or_below_the_offset_are_undone()
    {
        var f = AddPops();
        var unwinder = oracle.For(EpilogLegal);

        // Instruction boundaries of the prolog: 40 53 | 56 | 41 54 | 48 83 EC 20.
        var expected = new Dictionary<int, ExpectedUnwind>
        {
            [0] = ExpectedUnwind.Of(0x1008, 0x1000),
            [2] = ExpectedUnwind.Of(0x1010, 0x1008, (Gpr.Rbx, 0x1000)),
            [3] = ExpectedUnwind.Of(0x1018, 0x1010, (Gpr.Rsi, 0x1000), (Gpr.Rbx, 0x1008)),
            [5] = ExpectedUnwind.Of(0x1020, 0x1018, (Gpr.R12, 0x1000), (Gpr.Rsi, 0x1008), (Gpr.Rbx, 0x1010)),
        };
        foreach (var (offset, expect) in expected)
        {
            Assert.Equal(expect, ExpectedUnwind.FromObjdump(f.Codes, f.PrologSize!.Value, offset, 0x1000), new SameExpectation());
            var query = UnwindQuery.At(f.Begin + (uint)offset, 0x1000);
            expect.AssertMatches(query, unwinder.Unwind(query), $"prolog offset {offset}");
        }
    }

    [SkippableFact]
    public void Inside_an_epilog_the_rest_of_it_is_simulated()
    {
        var f = AddPops();
        var unwinder = oracle.For(EpilogLegal);
        // add rsp, 0x20; pop r12; pop rsi; pop rbx; ret
        var epilog = FindBytes(EpilogLegal, f.Begin, f.End, [0x48, 0x83, 0xC4, 0x20, 0x41, 0x5C, 0x5E, 0x5B, 0xC3]);

        var cases = new (uint At, uint Rsp, ExpectedUnwind Expect)[]
        {
            // Before add rsp the frame is whole: the same answer as from the body.
            (epilog, 0x1000, ExpectedUnwind.Of(0x1040, 0x1038, (Gpr.R12, 0x1020), (Gpr.Rsi, 0x1028), (Gpr.Rbx, 0x1030))),
            (epilog + 4, 0x1020, ExpectedUnwind.Of(0x1040, 0x1038, (Gpr.R12, 0x1020), (Gpr.Rsi, 0x1028), (Gpr.Rbx, 0x1030))),
            // r12 is already popped: it keeps the context's value.
            (epilog + 6, 0x1028, ExpectedUnwind.Of(0x1040, 0x1038, (Gpr.Rsi, 0x1028), (Gpr.Rbx, 0x1030))),
            (epilog + 7, 0x1030, ExpectedUnwind.Of(0x1040, 0x1038, (Gpr.Rbx, 0x1030))),
            (epilog + 8, 0x1038, ExpectedUnwind.Of(0x1040, 0x1038)),
        };
        foreach (var (at, rsp, expect) in cases)
        {
            var query = UnwindQuery.At(at, rsp).WithSlot(0x1038, StackValue.Literal(ReturnAddress));
            expect.AssertMatches(query, unwinder.Unwind(query), $"epilog +{at - epilog}");
        }
    }

    [SkippableFact]
    public void With_a_frame_register_rsp_is_recomputed_from_it()
    {
        // frame_pointer: push rbp (40 55); push rbx; sub rsp, 0x30; lea rbp, [rsp+0x20]; ... lea rsp, [rbp+0x10]; pop rbx; pop rbp; ret
        var f = EpilogLegalListing.Value[2];
        Assert.Equal(["0c FPReg: rbp = rsp + 0x20 (info = 0x0)", "07 alloc small area: rsp = rsp - 0x30", "03 push rbx", "02 push rbp"], f.Codes);
        Assert.Equal(("rbp", 2), (f.FrameRegister, f.FrameOffsetNibble));
        var unwinder = oracle.For(EpilogLegal);

        // The body, with RSP moved away (as after an alloca): rbp - 0x20 is the frame, s+0x1000.
        var body = UnwindQuery.At(f.Begin + 0x0c, 0x800).With(Gpr.Rbp, StackValue.Stack(0x1020));
        var answer = unwinder.Unwind(body);
        ExpectedUnwind.Of(0x1048, 0x1040, (Gpr.Rbx, 0x1030), (Gpr.Rbp, 0x1038)).AssertMatches(body, answer);
        Assert.Equal(StackValue.Stack(0x1000), answer.EstablisherFrame);

        // The epilog's lea rsp, [rbp+0x10] (48 8D 65 10) is simulated from rbp as well.
        var lea = FindBytes(EpilogLegal, f.Begin, f.End, [0x48, 0x8D, 0x65, 0x10, 0x5B, 0x5D, 0xC3]);
        var inEpilog = UnwindQuery.At(lea, 0x900).With(Gpr.Rbp, StackValue.Stack(0x1020));
        ExpectedUnwind.Of(0x1048, 0x1040, (Gpr.Rbx, 0x1030), (Gpr.Rbp, 0x1038)).AssertMatches(inEpilog, unwinder.Unwind(inEpilog));
    }

    [SkippableFact]
    public void A_chained_fragment_unwinds_with_its_parents_codes()
    {
        var listing = UnwindChainedListing.Value;
        var hot = listing[1];
        var cold = listing[3];
        Assert.Equal(["07 alloc small area: rsp = rsp - 0x28", "03 push rsi", "02 push rbx"], hot.Codes);
        Assert.Equal("UNW_FLAG_CHAININFO", cold.Flags);
        Assert.Equal((hot.Begin, hot.End, hot.UnwindData), cold.Chain);
        var unwinder = oracle.For(UnwindChained);

        // hot_cold runs in hot's frame: call [GetTickCount] is its first instruction.
        var query = UnwindQuery.At(cold.Begin, 0x1000);
        var answer = unwinder.Unwind(query);
        ExpectedUnwind.Of(0x1040, 0x1038, (Gpr.Rsi, 0x1028), (Gpr.Rbx, 0x1030)).AssertMatches(query, answer);
        Assert.Equal(UnwindImageEntry(UnwindChained, 3), answer.FunctionEntryRva);
    }

    [SkippableFact]
    public void A_low_bit_entry_is_resolved_to_the_entry_it_names()
    {
        var listing = UnwindChainedListing.Value;
        var split = listing[2];
        var tail = listing[4];
        Assert.Equal(["06 alloc small area: rsp = rsp - 0x20", "02 push rdi"], split.Codes);
        Assert.Equal(UnwindImageEntry(UnwindChained, 2) | 1, tail.UnwindData);
        var unwinder = oracle.For(UnwindChained);

        var query = UnwindQuery.At(tail.Begin, 0x1000);
        var answer = unwinder.Unwind(query);
        ExpectedUnwind.Of(0x1030, 0x1028, (Gpr.Rdi, 0x1020)).AssertMatches(query, answer);
        Assert.Equal(UnwindImageEntry(UnwindChained, 2), answer.FunctionEntryRva);
    }

    [SkippableFact]
    public void A_version_2_function_unwinds_inside_its_epilogs()
    {
        // v2_epilogs: push rsi (40 56); push rdi; sub rsp, 0x28; two epilogs "pop rdi; pop rsi; ret".
        var f = EpilogLegalListing.Value[8];
        Assert.Equal(2, f.Version);
        Assert.Equal(3, f.EpilogSize);
        Assert.Equal([0x1eu, 0x15u], f.EpilogOffsets);
        Assert.Equal(["07 alloc small area: rsp = rsp - 0x28", "03 push rdi", "02 push rsi"], f.Codes);
        var unwinder = oracle.For(EpilogLegal);

        foreach (var offset in f.EpilogOffsets)
        {
            var at = f.Begin + offset;
            Assert.Equal(at, FindBytes(EpilogLegal, at, at + 3, [0x5F, 0x5E, 0xC3]));
            var first = UnwindQuery.At(at, 0x1000);
            ExpectedUnwind.Of(0x1018, 0x1010, (Gpr.Rdi, 0x1000), (Gpr.Rsi, 0x1008)).AssertMatches(first, unwinder.Unwind(first), $"epilog pc+0x{offset:x}");
            var second = UnwindQuery.At(at + 1, 0x1008);
            ExpectedUnwind.Of(0x1018, 0x1010, (Gpr.Rsi, 0x1008)).AssertMatches(second, unwinder.Unwind(second), $"epilog pc+0x{offset:x} + 1");
        }

        // The body applies every code: 0x28 + two pushes.
        var body = UnwindQuery.At(f.Begin + 7, 0x1000);
        ExpectedUnwind.Of(0x1040, 0x1038, (Gpr.Rdi, 0x1028), (Gpr.Rsi, 0x1030)).AssertMatches(body, unwinder.Unwind(body));
    }

    [SkippableFact]
    public void A_language_handler_is_returned_outside_the_prolog_when_its_type_is_asked_for()
    {
        // seh-scopes' with_filter: push rbp; push rsi; sub rsp, 0x28; lea rbp, [rsp+0x20]; __C_specific_handler thunk at 0x1250.
        var path = Path.Combine(TestPaths.SamplesBin, "seh-scopes.x64.exe");
        var f = ObjdumpUnwindListing.Run(path)[0];
        Assert.Equal("UNW_FLAG_EHANDLER | UNW_FLAG_UHANDLER", f.Flags);
        Assert.Equal(["0d FPReg: rbp = rsp + 0x20 (info = 0x0)", "08 alloc small area: rsp = rsp - 0x28", "04 push rsi", "03 push rbp"], f.Codes);
        // The handler RVA follows the 4 codes; the handler data (the scope table) follows it.
        var handlerData = f.UnwindData + 4 + (4 * 2) + 4;
        var unwinder = oracle.For(path);
        var expected = ExpectedUnwind.Of(0x1040, 0x1038, (Gpr.Rsi, 0x1028), (Gpr.Rbp, 0x1030));

        foreach (var type in new[] { UnwindHandlerType.Exception, UnwindHandlerType.Unwind, UnwindHandlerType.None })
        {
            var body = UnwindQuery.At(f.Begin + 0x0d, 0x1000).With(Gpr.Rbp, StackValue.Stack(0x1020)) with { HandlerType = type, FunctionIndex = 0 };
            var answer = unwinder.Unwind(body);
            expected.AssertMatches(body, answer, type.ToString());
            Assert.Equal(type == UnwindHandlerType.None ? null : f.Handler, answer.HandlerRva);
            Assert.Equal(type == UnwindHandlerType.None ? null : handlerData, answer.HandlerDataRva);
        }

        // At the first byte of the prolog nothing is undone, and no handler is returned.
        var prolog = UnwindQuery.At(f.Begin, 0x1000) with { HandlerType = UnwindHandlerType.Exception };
        var inProlog = unwinder.Unwind(prolog);
        ExpectedUnwind.Of(0x1008, 0x1000).AssertMatches(prolog, inProlog);
        Assert.Null(inProlog.HandlerRva);
    }

    /// <summary>RVA of the <paramref name="index"/>th RUNTIME_FUNCTION, from the image's exception directory.</summary>
    internal static uint UnwindImageEntry(string path, int index) => ImagePatch.FromFile(path).GetDirectory(3).Rva + ((uint)index * 12);

    /// <summary>RVA of the first occurrence of <paramref name="pattern"/> in [begin, end) of the file's image.</summary>
    internal static uint FindBytes(string path, uint begin, uint end, byte[] pattern)
    {
        var image = ImagePatch.FromFile(path);
        var start = image.FileOffsetOf(begin);
        var at = image.Bytes.AsSpan(start, (int)(end - begin)).IndexOf(pattern);
        Assert.True(at >= 0, $"{Convert.ToHexString(pattern)} not found in 0x{begin:X}..0x{end:X}");
        return begin + (uint)at;
    }

    private sealed class SameExpectation : IEqualityComparer<ExpectedUnwind?>
    {
        public bool Equals(ExpectedUnwind? x, ExpectedUnwind? y) =>
            x is not null && y is not null && x.CallerRsp == y.CallerRsp && x.ReturnSlot == y.ReturnSlot
            && x.Restored.Count == y.Restored.Count && x.Restored.All(r => y.Restored.TryGetValue(r.Key, out var s) && s == r.Value);

        public int GetHashCode(ExpectedUnwind? obj) => obj is null ? 0 : obj.CallerRsp.GetHashCode();
    }
}
