using Pelint.Testing;

namespace Pelint.Tests.Exceptions;

/// <summary>Crafted images: each yields exactly its expected PE30xx rule, without a hang or an exception.</summary>
public sealed class UnwindFixtureTests
{
    // The rules that judge the exception data itself; the stack-walk rules (PE3005, PE3006,
    // PE3009-PE3013) judge code against it, not these tables.
    private static readonly HashSet<string> DataRules = ["PE3001", "PE3002", "PE3003", "PE3004", "PE3007", "PE3008"];

    private static IReadOnlyList<string> UnwindRules(UnwindImage u)
    {
        var report = RuleHarness.Analyze(u.Build(), "fixture.dll");
        Assert.Empty(report.Notifications);
        return [.. report.RuleIds().Where(DataRules.Contains).Distinct()];
    }

    [Fact]
    public void A_well_formed_table_yields_no_unwind_result()
    {
        var u = new UnwindImage();
        var info = u.SimpleInfo();
        u.Entry(0x1000, 0x1010, info);
        u.Entry(0x1010, 0x1020, u.ChainedInfo(0x1000, 0x1010, info));
        Assert.Empty(UnwindRules(u));
    }

    [Fact]
    public void Chaininfo_cycle_is_PE3003()
    {
        var u = new UnwindImage();
        var a = u.ChainedInfo(0x1010, 0x1020, 0);
        var b = u.ChainedInfo(0x1000, 0x1010, a);
        u.Entry(0x1000, 0x1010, a);
        u.Entry(0x1010, 0x1020, b);
        u.Data32(a + 12, b);
        Assert.Equal(["PE3003"], UnwindRules(u));
    }

    [Fact]
    public void Chain_deeper_than_32_links_is_PE3003()
    {
        var u = new UnwindImage();
        var previous = u.SimpleInfo();
        u.Entry(0x1000, 0x1010, previous);
        for (uint i = 1; i < 40; i++)
        {
            var info = u.ChainedInfo(0x1000 + ((i - 1) * 0x10), 0x1000 + (i * 0x10), previous);
            u.Entry(0x1000 + (i * 0x10), 0x1010 + (i * 0x10), info);
            previous = info;
        }

        Assert.Equal(["PE3003"], UnwindRules(u));
    }

    [Fact]
    public void Valid_low_bit_entry_yields_nothing()
    {
        var u = new UnwindImage();
        u.Entry(0x1000, 0x1010, u.SimpleInfo());
        u.Entry(0x1010, 0x1020, UnwindImage.EntryRva(0) | 1);
        Assert.Empty(UnwindRules(u));
    }

    [Fact]
    public void Low_bit_self_loop_is_PE3004()
    {
        var u = new UnwindImage();
        u.Entry(0x1000, 0x1010, u.SimpleInfo());
        u.Entry(0x1010, 0x1020, UnwindImage.EntryRva(1) | 1);
        Assert.Equal(["PE3004"], UnwindRules(u));
    }

    [Fact]
    public void Low_bit_pointer_into_the_middle_of_an_entry_is_PE3004()
    {
        var u = new UnwindImage();
        u.Entry(0x1000, 0x1010, u.SimpleInfo());
        u.Entry(0x1010, 0x1020, (UnwindImage.EntryRva(0) + 4) | 1);
        Assert.Equal(["PE3004"], UnwindRules(u));
    }

    [Fact]
    public void Scope_table_with_an_absurd_count_is_PE3007()
    {
        var u = new UnwindImage();
        var handler = u.CSpecificHandlerThunk(0x1800);
        var info = u.Info(0x09, 0x04, 0x01, 0x00, 0x04, 0x42, 0x00, 0x00, (byte)handler, (byte)(handler >> 8), 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x7F);
        u.Entry(0x1000, 0x1040, info);
        Assert.Equal(["PE3007"], UnwindRules(u));
    }

    [Fact]
    public void Scope_record_outside_its_function_is_PE3007()
    {
        var u = new UnwindImage();
        var handler = u.CSpecificHandlerThunk(0x1800);
        var info = u.Info(0x09, 0x04, 0x01, 0x00, 0x04, 0x42, 0x00, 0x00, (byte)handler, (byte)(handler >> 8), 0x00, 0x00);
        // One record: guards [0x1500, 0x1510) of a function [0x1000, 0x1040); handler 1; target 0x1030.
        u.Data32(info + 12, 1, 0x1500, 0x1510, 1, 0x1030);
        u.Entry(0x1000, 0x1040, info);
        Assert.Equal(["PE3007"], UnwindRules(u));
    }

    [Fact]
    public void Scope_table_of_a_c_specific_handler_that_is_well_formed_yields_nothing()
    {
        var u = new UnwindImage();
        var handler = u.CSpecificHandlerThunk(0x1800);
        var info = u.Info(0x09, 0x04, 0x01, 0x00, 0x04, 0x42, 0x00, 0x00, (byte)handler, (byte)(handler >> 8), 0x00, 0x00);
        // Inner __except (filter 1) first, then an enclosing __finally (target 0).
        u.Data32(info + 12, 2, 0x1008, 0x1010, 1, 0x1030, 0x1004, 0x1020, 0x1038, 0);
        u.Entry(0x1000, 0x1040, info);
        Assert.Empty(UnwindRules(u));
    }

    [Fact]
    public void Unsorted_entries_are_PE3001()
    {
        var u = new UnwindImage();
        var info = u.SimpleInfo();
        u.Entry(0x1100, 0x1110, info);
        u.Entry(0x1000, 0x1010, info);
        Assert.Equal(["PE3001"], UnwindRules(u));
    }

    [Fact]
    public void Overlapping_entries_are_PE3001()
    {
        var u = new UnwindImage();
        var info = u.SimpleInfo();
        u.Entry(0x1000, 0x1020, info);
        u.Entry(0x1010, 0x1030, info);
        Assert.Equal(["PE3001"], UnwindRules(u));
    }

    [Fact]
    public void Unknown_unwind_op_is_PE3002()
    {
        var u = new UnwindImage();
        u.Entry(0x1000, 0x1010, u.Info(0x01, 0x04, 0x01, 0x00, 0x04, 0x0C, 0x00, 0x00));
        Assert.Equal(["PE3002"], UnwindRules(u));
    }

    [Fact]
    public void Version_2_epilog_codes_describing_the_function_s_epilog_yield_nothing()
    {
        var u = V2Function();
        // UWOP_EPILOG with OpInfo 1: a 5-byte epilog ends the function (at 0x1010 - 5 = 0x100B).
        u.Entry(0x1000, 0x1010, u.Info(0x02, 0x04, 0x02, 0x00, 0x05, 0x16, 0x04, 0x42));
        Assert.Empty(UnwindRules(u));
    }

    [Fact]
    public void Version_2_epilog_code_placing_an_epilog_before_the_function_is_PE3008()
    {
        var u = V2Function();
        // The epilog at the end, then one 0x20 bytes back from the end: 0x1010 - 0x20 = 0xFF0,
        // before the function's begin 0x1000.
        u.Entry(0x1000, 0x1010, u.Info(0x02, 0x04, 0x03, 0x00, 0x05, 0x16, 0x20, 0x06, 0x04, 0x42, 0x00, 0x00));

        var result = Assert.Single(RuleHarness.Analyze(u.Build(), "fixture.dll").Results, r => r.Rule.Id == "PE3008");

        Assert.EndsWith(":outside-function", result.Finding.FingerprintKey, StringComparison.Ordinal);
        Assert.Contains("places a 5-byte epilog at 0xFF0, outside the function (0x1000-0x1010)", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Version_2_epilog_code_of_size_0_is_PE3008()
    {
        var u = V2Function();
        u.Entry(0x1000, 0x1010, u.Info(0x02, 0x04, 0x02, 0x00, 0x00, 0x16, 0x04, 0x42));

        var result = Assert.Single(RuleHarness.Analyze(u.Build(), "fixture.dll").Results, r => r.Rule.Id == "PE3008");

        Assert.EndsWith(":zero-size", result.Finding.FingerprintKey, StringComparison.Ordinal);
    }

    [Fact]
    public void Version_2_record_whose_first_code_is_not_an_epilog_code_is_PE3008()
    {
        var u = V2Function();
        u.Entry(0x1000, 0x1010, u.Info(0x02, 0x04, 0x01, 0x00, 0x04, 0x42, 0x00, 0x00));

        var result = Assert.Single(RuleHarness.Analyze(u.Build(), "fixture.dll").Results, r => r.Rule.Id == "PE3008");

        Assert.EndsWith(":no-epilog-code", result.Finding.FingerprintKey, StringComparison.Ordinal);
    }

    /// <summary>
    /// A function at 0x1000-0x1010 with one epilog at its end: sub rsp,28h; seven nops;
    /// add rsp,28h; ret. Its version 2 records (byte 0 = 2) all carry the prolog code
    /// ALLOC_SMALL 0x28 at offset 4 (04 42) after their UWOP_EPILOG codes (op 6).
    /// </summary>
    private static UnwindImage V2Function()
    {
        var u = new UnwindImage();
        u.Code(0x1000, 0x48, 0x83, 0xEC, 0x28, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x48, 0x83, 0xC4, 0x28, 0xC3);
        return u;
    }

    [Fact]
    public void Runtime_pack_coreclr_and_clrjit_yield_no_unwind_result()
    {
        foreach (var dll in new[] { "coreclr.dll", "clrjit.dll" })
        {
            var report = RuleHarness.Analyze(TestPaths.RuntimeDll(dll));
            Assert.DoesNotContain(report.RuleIds(), DataRules.Contains);
        }
    }
}
