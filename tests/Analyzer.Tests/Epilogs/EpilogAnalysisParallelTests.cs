using Pelint.Analysis;
using Pelint.Analysis.Epilogs;
using Pelint.Pe;
using Pelint.Testing;

namespace Pelint.Tests.Epilogs;

/// <summary>The epilog scan is split into fixed chunks of .pdata entries; the thread count must not change what it finds.</summary>
public sealed class EpilogAnalysisParallelTests
{
    [Fact]
    public void Results_are_identical_with_one_and_several_threads()
    {
        // coreclr.dll has about 14,000 entries: several chunks, with chained fragments and switch tables across them.
        using var image = PeImage.Open(TestPaths.RuntimeDll("coreclr.dll")).Image!;

        var one = EpilogAnalysis.ScanAll(new AnalysisContext(image, new AnalysisSettings { Parallelism = 1 }));
        var many = EpilogAnalysis.ScanAll(new AnalysisContext(image, new AnalysisSettings { Parallelism = 4 }));

        Assert.True(one.FragmentsChecked > 2 * EpilogAnalysis.ChunkEntries);
        Assert.Equal(one.Epilogs.Select(Describe), many.Epilogs.Select(Describe));
        Assert.Equal(
            (one.EpilogsChecked, one.FunctionsChecked, one.FragmentsChecked, one.FragmentsSkipped, one.V2EpilogsCompared, one.WitnessDisagreements.Count),
            (many.EpilogsChecked, many.FunctionsChecked, many.FragmentsChecked, many.FragmentsSkipped, many.V2EpilogsCompared, many.WitnessDisagreements.Count));
    }

    [Fact]
    public void Ordinals_count_every_epilog_of_a_function_in_address_order()
    {
        using var image = PeImage.Open(TestPaths.RuntimeDll("coreclr.dll")).Image!;

        var all = EpilogAnalysis.ScanAll(new AnalysisContext(image, new AnalysisSettings { Parallelism = 2 })).Epilogs;

        foreach (var function in all.GroupBy(e => e.Primary.BeginAddress))
        {
            Assert.Equal(Enumerable.Range(1, function.Count()), function.Select(e => e.Ordinal));
        }
    }

    [Fact]
    public void The_shared_analysis_keeps_exactly_the_epilogs_rules_report()
    {
        using var image = PeImage.Open(TestPaths.RuntimeDll("coreclr.dll")).Image!;

        var analysis = new AnalysisContext(image);
        var all = EpilogAnalysis.ScanAll(analysis);
        var kept = EpilogAnalysis.Of(analysis);

        Assert.Equal(all.Epilogs.Count, kept.EpilogsChecked);
        Assert.Equal(all.Epilogs.Where(e => e.Verdict != EpilogVerdict.Legal || e.Mismatch is not null).Select(Describe), kept.Epilogs.Select(Describe));
    }

    private static string Describe(EpilogSite e) =>
        $"{e.Primary.BeginAddress:X}/{e.Ordinal} {e.StartRva:X}-{e.EndRva:X} {e.Verdict} {e.Deviation} {e.Mismatch} {e.FunctionKey} {e.Bytes}";
}
