using System.Diagnostics;
using Pelint.Testing.Oracles;
using Pelint.Tests.Exceptions;
using Xunit.Abstractions;

namespace Pelint.Tests.Oracles;

/// <summary>
/// What the client does when the harness does not answer: Wine's epilog scan follows a
/// <c>jmp</c> that stays inside the function, so <c>EB FE</c> after a partial epilog spins
/// forever; the query becomes a hang answer and the next query runs in a new harness. A fault
/// inside RtlVirtualUnwind is an error answer from a harness that stays up.
/// </summary>
[Collection(WineOracleCollection.Name)]
public sealed class WineUnwinderWatchdogTests(ITestOutputHelper output)
{
    // push rbx (40 53); sub rsp, 0x20; nop; add rsp, 0x20; pop rbx; jmp $ (EB FE)
    private const uint Function = UnwindImage.Text + 0x10;
    private const uint Nop = Function + 6;
    private const uint AddRsp = Function + 7;
    private const uint ChainCycle = UnwindImage.Text + 0x100;

    private static string HangImage()
    {
        var image = new UnwindImage();
        image.Code(Function, 0x40, 0x53, 0x48, 0x83, 0xEC, 0x20, 0x90, 0x48, 0x83, 0xC4, 0x20, 0x5B, 0xEB, 0xFE);
        // Version 1, prolog 6, 2 codes: (6, ALLOC_SMALL 0x20), (2, PUSH_NONVOL rbx).
        image.Entry(Function, Function + 14, image.Info(0x01, 0x06, 0x02, 0x00, 0x06, 0x32, 0x02, 0x30));
        // nop; nop; ret, whose CHAININFO unwind info names its own entry: Wine walks the chain forever.
        const uint cyclic = UnwindImage.RData + 0x400;
        image.Code(ChainCycle, 0x90, 0x90, 0xC3);
        image.Data(cyclic, 0x01 | (4 << 3), 0, 0, 0);
        image.Data32(cyclic + 4, ChainCycle, ChainCycle + 3, cyclic);
        image.Entry(ChainCycle, ChainCycle + 3, cyclic);
        return WineOracleFixture.SaveImage("oracle-hang.exe", image.Build());
    }

    [SkippableFact]
    public void A_query_that_spins_is_a_hang_and_the_next_query_gets_a_new_harness()
    {
        WineOracleFixture.RequireOracle();
        using var unwinder = WineUnwinder.Start(HangImage());
        var body = ExpectedUnwind.Of(0x1030, 0x1028, (Gpr.Rbx, 0x1020));
        var atNop = UnwindQuery.At(Nop, 0x1000);
        body.AssertMatches(atNop, unwinder.Unwind(atNop));
        Assert.Equal(1, unwinder.Starts);

        var clock = Stopwatch.StartNew();
        var hang = unwinder.Unwind(UnwindQuery.At(AddRsp, 0x1000));
        var waited = clock.Elapsed;
        Assert.Equal(UnwindOutcome.Hang, hang.Outcome);
        Assert.Contains("hang", hang.Error, StringComparison.Ordinal);

        clock.Restart();
        body.AssertMatches(atNop, unwinder.Unwind(atNop));
        Assert.Equal(2, unwinder.Starts);
        output.WriteLine($"hang answered after {waited.TotalMilliseconds:0} ms; restart and next answer {clock.Elapsed.TotalMilliseconds:0} ms");

        // A chain that never ends is the other way to hang Wine's unwinder (Microsoft stops at 32 links).
        Assert.Equal(UnwindOutcome.Hang, unwinder.Unwind(UnwindQuery.At(ChainCycle, 0x1000)).Outcome);
        body.AssertMatches(atNop, unwinder.Unwind(atNop));
        Assert.Equal(3, unwinder.Starts);
    }

    [SkippableFact]
    public void An_answer_comes_back_while_the_thread_pool_is_starved()
    {
        WineOracleFixture.RequireOracle();
        using var unwinder = WineUnwinder.Start(HangImage());
        var body = ExpectedUnwind.Of(0x1030, 0x1028, (Gpr.Rbx, 0x1020));
        var atNop = UnwindQuery.At(Nop, 0x1000);

        // Not disposed: work items the pool has not started when this test returns still wait on it.
        var release = new ManualResetEventSlim();

        // Every pool thread, and every one the pool adds while the query waits, blocked: other tests
        // in the process can do this for seconds, and an answer read through the pool would wait for them.
        var blockers = ThreadPool.ThreadCount + 64;
        for (var i = 0; i < blockers; i++)
        {
            ThreadPool.UnsafeQueueUserWorkItem(_ => release.Wait(), null);
        }

        UnwindAnswer answer;
        var clock = Stopwatch.StartNew();
        try
        {
            answer = unwinder.Unwind(atNop);
        }
        finally
        {
            release.Set();
        }

        output.WriteLine($"answered in {clock.Elapsed.TotalMilliseconds:0} ms with {blockers} pool work items blocked");
        body.AssertMatches(atNop, answer);
        Assert.Equal(1, unwinder.Starts);
    }

    [SkippableFact]
    public void A_fault_in_the_unwinder_is_an_error_answer_and_the_harness_stays_up()
    {
        WineOracleFixture.RequireOracle();
        using var unwinder = WineUnwinder.Start(HangImage());

        // RSP = 0x10: the unwinder reads the pushed rbx from 0x30, which is not mapped.
        var fault = unwinder.Unwind(UnwindQuery.At(Nop, 0x1000).With(Gpr.Rsp, StackValue.Literal(0x10)));
        Assert.Equal(UnwindOutcome.Failed, fault.Outcome);
        Assert.Contains("exception code=0xc0000005", fault.Error, StringComparison.Ordinal);
        Assert.Contains("address=0x30", fault.Error, StringComparison.Ordinal);

        var bad = unwinder.Unwind(UnwindQuery.At(0xFFFF_0000, 0x1000));
        Assert.Equal(UnwindOutcome.Failed, bad.Outcome);
        Assert.Contains("bad-pc", bad.Error, StringComparison.Ordinal);

        var none = unwinder.Unwind(UnwindQuery.At(UnwindImage.Text, 0x1000));
        Assert.Equal(UnwindOutcome.Failed, none.Outcome);
        Assert.Contains("no-function", none.Error, StringComparison.Ordinal);

        var atNop = UnwindQuery.At(Nop, 0x1000);
        ExpectedUnwind.Of(0x1030, 0x1028, (Gpr.Rbx, 0x1020)).AssertMatches(atNop, unwinder.Unwind(atNop));
        Assert.Equal(1, unwinder.Starts);
    }
}
