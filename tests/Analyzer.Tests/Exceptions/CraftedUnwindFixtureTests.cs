using Pelint.Engine;
using Pelint.Rules;

namespace Pelint.Tests.Exceptions;

/// <summary>
/// Each malformation of x64 exception data yields exactly its own rule among the unwind-data
/// rules, terminates (no hang on cycles) and raises no exception.
/// </summary>
public sealed class CraftedUnwindFixtureTests
{
    // The unwind-data rules; the epilog rules (PE3005/PE3006/PE3009) judge code, not these tables.
    private static readonly HashSet<string> UnwindDataRules = ["PE3001", "PE3002", "PE3003", "PE3004", "PE3007", "PE3008"];

    private static IReadOnlyList<Result> UnwindResults(byte[] image)
    {
        var report = RuleHarness.Analyze(image, "fixture.exe");
        Assert.Empty(report.Notifications);
        return [.. report.Results.Where(r => UnwindDataRules.Contains(r.Rule.Id))];
    }

    private static UnwindFixture ThreeGoodFunctions()
    {
        var f = new UnwindFixture();
        var info = f.StandardInfo();
        for (var i = 0; i < 3; i++)
        {
            f.Entry(f.Function(i), f.End(i), info);
        }

        return f;
    }

    [Fact]
    public void Well_formed_table_yields_no_unwind_result()
    {
        Assert.Empty(UnwindResults(ThreeGoodFunctions().Build()));
    }

    [Fact]
    public void Chaininfo_cycle_is_reported_by_PE3003_and_terminates()
    {
        var f = new UnwindFixture();
        // Entry 0's info chains to entry 1, whose info chains back to entry 0. Each chained info is
        // 16 bytes, so the two records' RVAs are known before they are written.
        var a = f.NextData;
        var b = a + 16;
        Assert.Equal(a, f.ChainedInfo(f.Function(1), f.End(1), b));
        Assert.Equal(b, f.ChainedInfo(f.Function(0), f.End(0), a));
        f.Entry(f.Function(0), f.End(0), a).Entry(f.Function(1), f.End(1), b);

        var results = UnwindResults(f.Build());

        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.Equal("PE3003", r.Rule.Id));
        Assert.All(results, r => Assert.EndsWith(":cycle", r.Finding.FingerprintKey, StringComparison.Ordinal));
    }

    [Fact]
    public void Chain_deeper_than_32_links_is_reported_by_PE3003()
    {
        const int Fragments = 40;
        var f = new UnwindFixture(Fragments + 1);
        var primary = f.StandardInfo();
        var infos = new uint[Fragments + 1];
        infos[0] = primary;
        for (var i = 1; i <= Fragments; i++)
        {
            infos[i] = f.ChainedInfo(f.Function(i - 1), f.End(i - 1), infos[i - 1]);
        }

        for (var i = 0; i <= Fragments; i++)
        {
            f.Entry(f.Function(i), f.End(i), infos[i]);
        }

        var results = UnwindResults(f.Build());

        Assert.NotEmpty(results);
        Assert.All(results, r => Assert.Equal("PE3003", r.Rule.Id));
        Assert.Contains(results, r => r.Message.Contains("32 links", StringComparison.Ordinal));
    }

    [Fact]
    public void Valid_low_bit_entry_yields_no_unwind_result()
    {
        var f = ThreeGoodFunctions();
        f.Entry(f.Function(3), f.End(3), f.EntryRva(0) | 1);

        Assert.Empty(UnwindResults(f.Build()));
    }

    [Fact]
    public void Low_bit_self_loop_is_reported_by_PE3004_and_terminates()
    {
        var f = ThreeGoodFunctions();
        f.Entry(f.Function(3), f.End(3), f.EntryRva(3) | 1);

        var result = Assert.Single(UnwindResults(f.Build()));

        Assert.Equal("PE3004", result.Rule.Id);
        Assert.Contains("cycle", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Low_bit_pointer_into_the_middle_of_an_entry_is_reported_by_PE3004()
    {
        var f = ThreeGoodFunctions();
        f.Entry(f.Function(3), f.End(3), (f.EntryRva(1) + 4) | 1);

        var result = Assert.Single(UnwindResults(f.Build()));

        Assert.Equal("PE3004", result.Rule.Id);
        Assert.Contains("not at an entry boundary", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Scope_table_with_an_absurd_count_is_reported_by_PE3007()
    {
        var f = ThreeGoodFunctions();
        var handler = f.Function(10);
        f.Export(handler, "__C_specific_handler");
        f.Entry(f.Function(3), f.End(3), f.HandlerInfo(handler, 0x0FFF_FFFF));

        var result = Assert.Single(UnwindResults(f.Build()));

        Assert.Equal("PE3007", result.Rule.Id);
        Assert.Contains("268435455 records", result.Message, StringComparison.Ordinal);
        Assert.Contains("exported under that name", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Scope_record_outside_its_function_is_reported_by_PE3007()
    {
        var f = ThreeGoodFunctions();
        var handler = f.Function(10);
        f.Export(handler, "__C_specific_handler");
        f.Entry(f.Function(3), f.End(3), f.HandlerInfo(handler, 1, (f.Function(0), f.End(0), 1, f.Function(3) + 4)));

        var result = Assert.Single(UnwindResults(f.Build()));

        Assert.Equal("PE3007", result.Rule.Id);
        Assert.Contains("not inside the function", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Valid_scope_records_yield_no_unwind_result()
    {
        var f = ThreeGoodFunctions();
        var handler = f.Function(10);
        f.Export(handler, "__C_specific_handler");
        f.Entry(f.Function(3), f.End(3), f.HandlerInfo(handler, 2,
            (f.Function(3) + 4, f.Function(3) + 8, 1, f.Function(3) + 8),
            (f.Function(3) + 4, f.End(3), f.Function(11), 0)));

        Assert.Empty(UnwindResults(f.Build()));
    }

    [Fact]
    public void Unsorted_entries_are_reported_by_PE3001()
    {
        var f = new UnwindFixture();
        var info = f.StandardInfo();
        f.Entry(f.Function(1), f.End(1), info).Entry(f.Function(0), f.End(0), info);

        var result = Assert.Single(UnwindResults(f.Build()));

        Assert.Equal("PE3001", result.Rule.Id);
        Assert.Equal("unsorted", result.Finding.MessageId);
    }

    [Fact]
    public void An_identical_second_entry_for_a_folded_function_is_not_reported()
    {
        var f = new UnwindFixture();
        var info = f.StandardInfo();
        f.Entry(f.Function(0), f.End(0), info).Entry(f.Function(0), f.End(0), info).Entry(f.Function(1), f.End(1), info);

        Assert.Empty(UnwindResults(f.Build()));
    }

    [Fact]
    public void A_second_entry_for_a_folded_function_with_an_equal_copy_of_its_record_is_not_reported()
    {
        // lld keeps each folded copy's .xdata: same bytes at another RVA (libSkiaSharp).
        var f = new UnwindFixture();
        f.Entry(f.Function(0), f.End(0), f.StandardInfo()).Entry(f.Function(0), f.End(0), f.StandardInfo()).Entry(f.Function(1), f.End(1), f.StandardInfo());

        Assert.Empty(UnwindResults(f.Build()));
    }

    [Fact]
    public void Two_entries_for_one_function_with_different_unwind_data_are_reported_by_PE3001()
    {
        var f = new UnwindFixture();
        var other = f.AddData([0x01, 0x02, 0x01, 0x00, 0x02, 0x32, 0x00, 0x00]);
        f.Entry(f.Function(0), f.End(0), f.StandardInfo()).Entry(f.Function(0), f.End(0), other).Entry(f.Function(1), f.End(1), f.StandardInfo());

        var result = Assert.Single(UnwindResults(f.Build()));

        Assert.Equal("PE3001", result.Rule.Id);
        Assert.Equal("duplicate", result.Finding.MessageId);
    }

    [Fact]
    public void Overlapping_entries_are_reported_by_PE3001()
    {
        var f = new UnwindFixture();
        var info = f.StandardInfo();
        f.Entry(f.Function(0), f.Function(1) + 4, info).Entry(f.Function(1), f.End(1), info);

        var result = Assert.Single(UnwindResults(f.Build()));

        Assert.Equal("PE3001", result.Rule.Id);
        Assert.Equal("overlap", result.Finding.MessageId);
    }

    [Theory]
    [InlineData(0x07, "unknown-op")]   // UWOP_SPARE_CODE: reserved
    [InlineData(0x0B, "unknown-op")]   // op 11: undefined
    [InlineData(0x06, "obsolete-op")]  // op 6 in a version 1 record: the obsolete UWOP_SAVE_XMM
    public void Unknown_unwind_op_is_reported_by_PE3002(byte op, string code)
    {
        var f = new UnwindFixture();
        var info = f.AddData([0x01, 0x04, 0x01, 0x00, 0x04, op, 0x00, 0x00]);
        f.Entry(f.Function(0), f.End(0), info);

        var result = Assert.Single(UnwindResults(f.Build()));

        Assert.Equal("PE3002", result.Rule.Id);
        Assert.EndsWith(":" + code, result.Finding.FingerprintKey, StringComparison.Ordinal);
    }

    [Fact]
    public void Undecodable_unwind_info_is_not_reported_again_as_an_epilog_mismatch()
    {
        var f = new UnwindFixture();
        f.Entry(f.Function(0), f.End(0), f.AddData([0x01, 0x04, 0x01, 0x00, 0x04, 0x07, 0x00, 0x00]));

        var report = RuleHarness.Analyze(f.Build(), "fixture.exe");

        Assert.Single(report.Results, r => r.Rule.Id == "PE3002");
        Assert.DoesNotContain(report.Results, r => r.Rule.Id is "PE3005" or "PE3006");
    }

    [Fact]
    public void Operation_cut_short_by_the_code_count_is_reported_by_PE3002()
    {
        var f = new UnwindFixture();
        // ALLOC_LARGE with OpInfo 1 needs 3 slots; CountOfCodes says 1.
        var info = f.AddData([0x01, 0x07, 0x01, 0x00, 0x07, 0x11, 0x00, 0x00]);
        f.Entry(f.Function(0), f.End(0), info);

        var result = Assert.Single(UnwindResults(f.Build()));

        Assert.Contains("needs 3 slots", result.Message, StringComparison.Ordinal);
    }
}
