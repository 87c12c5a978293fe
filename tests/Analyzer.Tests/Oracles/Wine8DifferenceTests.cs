using Pelint.Testing;
using Pelint.Testing.Oracles;
using Pelint.Tests.Exceptions;

namespace Pelint.Tests.Oracles;

/// <summary>
/// Where Wine 8's RtlVirtualUnwind answers differently from Microsoft's algorithm (the sources
/// read are named in tests/oracles/winunwind/README.md, whose list of differences this is). Each
/// case pins Wine's answer, derived by hand from the bytes below, and names Microsoft's in a comment. A verifier compared with this oracle must leave
/// these forms out. If Wine changes, these tests say which entry of the list to revisit.
/// Every function: push rbx (40 53); sub rsp, 0x20; nop; then the form; codes (6, ALLOC_SMALL
/// 0x20), (2, PUSH_NONVOL rbx). Queried at RSP = s+0x1020 after the add (or s+0x800 where said):
/// an epilog answer is rbx from s+0x1020, return address from s+0x1028, caller RSP s+0x1030; a
/// body answer applies every code again: rbx from s+0x1040, return from s+0x1048, RSP s+0x1050.
/// </summary>
[Collection(WineOracleCollection.Name)]
public sealed class Wine8DifferenceTests(WineOracleFixture oracle)
{
    private static readonly ExpectedUnwind EpilogAnswer = ExpectedUnwind.Of(0x1030, 0x1028, (Gpr.Rbx, 0x1020));
    private static readonly ExpectedUnwind BodyAnswer = ExpectedUnwind.Of(0x1050, 0x1048, (Gpr.Rbx, 0x1040));

    private static readonly byte[] Prolog = [0x40, 0x53, 0x48, 0x83, 0xEC, 0x20, 0x90];
    private static readonly byte[] AddRsp = [0x48, 0x83, 0xC4, 0x20];

    private static readonly Lazy<string> Image = new(Build);

    // Functions of the synthetic image: where each starts and where it is queried.
    private const uint BndRet = UnwindImage.Text + 0x100;
    private const uint LeaOther = UnwindImage.Text + 0x200;
    private const uint Version2 = UnwindImage.Text + 0x300;
    private const uint JmpRax = UnwindImage.Text + 0x400;
    private const uint JmpInside = UnwindImage.Text + 0x500;
    private const uint Version3 = UnwindImage.Text + 0x600;
    private const uint NoCodes = UnwindImage.Text + 0x700;

    private static string Build()
    {
        var image = new UnwindImage();
        byte[] v1 = [0x01, 0x06, 0x02, 0x00, 0x06, 0x32, 0x02, 0x30];

        // add rsp, 0x20; pop rbx; bnd ret (F2 C3)
        Function(image, BndRet, [.. AddRsp, 0x5B, 0xF2, 0xC3], image.Info(v1));
        // lea rsp, [rsi+0x20] (48 8D 66 20); pop rbx; ret, in a function without a frame register
        Function(image, LeaOther, [0x48, 0x8D, 0x66, 0x20, 0x5B, 0xC3], image.Info(v1));
        // add rsp, 0x20; pop rbx; nop; ret, with version 2 unwind info whose first UWOP_EPILOG
        // says: one epilog of 3 bytes at the end (CodeOffset 3, OpInfo 1), then a padding EPILOG.
        Function(image, Version2, [.. AddRsp, 0x5B, 0x90, 0xC3], image.Info(0x02, 0x06, 0x04, 0x00, 0x03, 0x16, 0x00, 0x06, 0x06, 0x32, 0x02, 0x30));
        // add rsp, 0x20; pop rbx; jmp rax with REX.W (48 FF E0): a tail call through a register
        Function(image, JmpRax, [.. AddRsp, 0x5B, 0x48, 0xFF, 0xE0], image.Info(v1));
        // add rsp, 0x20; jmp short +1 (EB 01); int3; pop rbx; ret
        Function(image, JmpInside, [.. AddRsp, 0xEB, 0x01, 0xCC, 0x5B, 0xC3], image.Info(v1));
        // add rsp, 0x20; pop rbx; ret, with the version 1 codes in a version 3 header
        Function(image, Version3, [.. AddRsp, 0x5B, 0xC3], image.Info(0x03, 0x06, 0x02, 0x00, 0x06, 0x32, 0x02, 0x30));
        // nop; pop rbx; ret with no unwind codes at all
        image.Code(NoCodes, 0x90, 0x5B, 0xC3);
        image.Entry(NoCodes, NoCodes + 3, image.Info(0x01, 0x00, 0x00, 0x00));
        return WineOracleFixture.SaveImage("wine8-differences.exe", image.Build());
    }

    private static void Function(UnwindImage image, uint begin, byte[] tail, uint info)
    {
        image.Code(begin, [.. Prolog, .. tail]);
        image.Entry(begin, begin + (uint)(Prolog.Length + tail.Length), info);
    }

    [SkippableFact]
    public void Wine8_does_not_know_bnd_ret()
    {
        // Microsoft: an optional F2 (REPNE/BND) prefix before ret or jmp; at the pop: EpilogAnswer.
        Check(BndRet + 11, BodyAnswer);
    }

    [SkippableFact]
    public void Wine8_accepts_lea_rsp_from_any_register()
    {
        // Microsoft: lea rsp, [reg+d] opens an epilog only when reg is the unwind info's frame
        // register; here there is none, so the body answer from RSP = s+0x800 (rbx from s+0x820).
        var query = UnwindQuery.At(LeaOther + 7, 0x800).With(Gpr.Rsi, StackValue.Stack(0x1000));
        EpilogAnswer.AssertMatches(query, oracle.For(Image.Value).Unwind(query));
    }

    [SkippableFact]
    public void Wine8_ignores_version_2_epilog_codes()
    {
        // Microsoft: for version 2 the epilog is found only from UWOP_EPILOG codes, never by
        // scanning: at the pop (end - 3) it is EpilogAnswer; at the nop (end - 2) the pop is
        // done and only the return address is read: RIP from s+0x1028.
        Check(Version2 + 11, BodyAnswer);
        var atNop = UnwindQuery.At(Version2 + 12, 0x1028);
        ExpectedUnwind.Of(0x1058, 0x1050, (Gpr.Rbx, 0x1048)).AssertMatches(atNop, oracle.For(Image.Value).Unwind(atNop));
    }

    [SkippableFact]
    public void Wine8_does_not_treat_rex_w_jmp_through_a_register_as_a_tail_call()
    {
        // Microsoft: REX.W FF /4 is an unambiguous epilog: EpilogAnswer.
        Check(JmpRax + 11, BodyAnswer);
    }

    [SkippableFact]
    public void Wine8_follows_a_jmp_that_stays_inside_the_function()
    {
        // Microsoft: a jmp to a target inside the function (other than its start) ends the scan:
        // not an epilog, BodyAnswer. Wine follows it to the pop and ret.
        Check(JmpInside + 11, EpilogAnswer);
    }

    [SkippableFact]
    public void Wine8_does_not_treat_a_tail_jmp_out_of_the_function_as_an_epilog()
    {
        // epilog-legal's tail_rel32: push rsi (40 56); sub rsp, 0x20; ... add rsp, 0x20; pop rsi; jmp leaf (E9)
        // and tail_iat: push rdi (40 57); sub rsp, 0x20; ... add rsp, 0x20; pop rdi; jmp [rip+IAT] (FF 25).
        // Microsoft: both jmps leave the function, so at the pop the epilog is simulated:
        // register from s+0x1020, return from s+0x1028.
        var path = Path.Combine(TestPaths.SamplesBin, "epilog-legal.x64.exe");
        var listing = ObjdumpUnwindListing.Run(path);
        var cases = new (ObjdumpFunction Function, byte[] Epilog, Gpr Register)[]
        {
            (listing[5], [0x48, 0x83, 0xC4, 0x20, 0x5E, 0xE9], Gpr.Rsi),
            (listing[6], [0x48, 0x83, 0xC4, 0x20, 0x5F, 0xFF, 0x25], Gpr.Rdi),
        };
        foreach (var (function, epilog, register) in cases)
        {
            Assert.Equal(["06 alloc small area: rsp = rsp - 0x20", $"02 push {register.ToString().ToLowerInvariant()}"], function.Codes);
            var pop = WineUnwinderSampleTests.FindBytes(path, function.Begin, function.End, epilog) + 4;
            var query = UnwindQuery.At(pop, 0x1020);
            ExpectedUnwind.Of(0x1050, 0x1048, (register, 0x1040)).AssertMatches(query, oracle.For(path).Unwind(query), $"{register} at 0x{pop:X}");
        }
    }

    [SkippableFact]
    public void Wine8_leaves_the_context_as_it_was_for_unwind_info_of_version_3()
    {
        // Microsoft's algorithm as read (README) checks no version: 3 takes the version 2 path,
        // whose first code is not an EPILOG, so the prolog codes are undone (from the nop: rbx
        // from s+0x1020, RSP s+0x1030).
        var query = UnwindQuery.At(Version3 + 6, 0x1000);
        var answer = oracle.For(Image.Value).Unwind(query);
        Assert.Equal(UnwindOutcome.Unwound, answer.Outcome);
        Assert.Equal(StackValue.Stack(0x1000), answer.Rsp);
        Assert.False(answer.Rip.IsStackOffset);
        Assert.Empty(answer.RestoredFrom);
        Assert.Equal(UnwindQuery.Marker(Gpr.Rbx), answer[Gpr.Rbx]);
    }

    [SkippableFact]
    public void Wine8_does_not_look_for_an_epilog_in_a_function_without_codes()
    {
        // Microsoft's algorithm as read (README) scans version 1 code whatever the count: at the
        // pop it simulates pop rbx; ret (rbx from s+0x1000, return from s+0x1008). Wine's source
        // says current Windows does as Wine does; the README records that as unchecked.
        var query = UnwindQuery.At(NoCodes + 1, 0x1000);
        ExpectedUnwind.Of(0x1008, 0x1000).AssertMatches(query, oracle.For(Image.Value).Unwind(query));
    }

    [SkippableFact]
    public void Wine8_releases_the_arguments_of_ret_imm16_in_an_epilog()
    {
        // epilog-legal's ret_imm16: push rbx (40 53); sub rsp, 0x20; ... add rsp, 0x20; pop rbx; ret 16 (C2 10 00).
        // Microsoft: the epilog's return is emulated as a plain ret, RSP + 8, as from the body:
        // at the pop, caller RSP s+0x1030. Wine also adds the 16 bytes ret releases: s+0x1040.
        var path = Path.Combine(TestPaths.SamplesBin, "epilog-legal.x64.exe");
        var function = ObjdumpUnwindListing.Run(path)[3];
        Assert.Equal(["06 alloc small area: rsp = rsp - 0x20", "02 push rbx"], function.Codes);
        var pop = WineUnwinderSampleTests.FindBytes(path, function.Begin, function.End, [0x48, 0x83, 0xC4, 0x20, 0x5B, 0xC2, 0x10, 0x00]) + 4;
        var unwinder = oracle.For(path);

        var atPop = UnwindQuery.At(pop, 0x1020);
        ExpectedUnwind.Of(0x1040, 0x1028, (Gpr.Rbx, 0x1020)).AssertMatches(atPop, unwinder.Unwind(atPop));
        var atRet = UnwindQuery.At(pop + 1, 0x1028);
        ExpectedUnwind.Of(0x1040, 0x1028).AssertMatches(atRet, unwinder.Unwind(atRet));

        // From the body both agree: RSP + 0x20 + 8 + return address, nothing for the arguments.
        var body = UnwindQuery.At(function.Begin + 6, 0x1000);
        ExpectedUnwind.Of(0x1030, 0x1028, (Gpr.Rbx, 0x1020)).AssertMatches(body, unwinder.Unwind(body));
    }

    private void Check(uint at, ExpectedUnwind expected)
    {
        var query = UnwindQuery.At(at, 0x1020);
        expected.AssertMatches(query, oracle.For(Image.Value).Unwind(query));
    }
}
