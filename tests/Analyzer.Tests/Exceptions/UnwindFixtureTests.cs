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
    public void Runtime_pack_coreclr_and_clrjit_yield_no_unwind_result()
    {
        foreach (var dll in new[] { "coreclr.dll", "clrjit.dll" })
        {
            var report = RuleHarness.Analyze(TestPaths.RuntimeDll(dll));
            Assert.DoesNotContain(report.RuleIds(), DataRules.Contains);
        }
    }
}
