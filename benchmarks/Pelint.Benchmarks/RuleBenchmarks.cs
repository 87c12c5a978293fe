using BenchmarkDotNet.Attributes;
using Pelint.Analysis;
using Pelint.Analysis.StackWalk;
using Pelint.Engine;
using Pelint.Pe;
using Pelint.Rules;
using Pelint.Testing;

namespace Pelint.Benchmarks;

/// <summary>The rules on real MSVC images: the epilog scan alone (1 and 2 threads), each rule alone, all rules.</summary>
[MemoryDiagnoser]
public class RuleBenchmarks
{
    private static readonly RuleEngine AllRules = RuleEngine.CreateDefault();
    private byte[] _bytes = [];
    private RuleEngine _one = AllRules;

    [Params("coreclr.dll")]
    public string File { get; set; } = "coreclr.dll";

    [ParamsSource(nameof(RuleIds))]
    public string Rule { get; set; } = "PE3005";

    public static IEnumerable<string> RuleIds() => AllRules.Rules.Select(r => r.Id);

    [GlobalSetup]
    public void Setup()
    {
        _bytes = System.IO.File.ReadAllBytes(TestPaths.RuntimeDll(File));
        _one = new RuleEngine(AllRules.Catalog, AllRules.Rules.Where(r => r.Id == Rule));
    }

    [Benchmark(Description = "one rule, views built from scratch")]
    public int OneRule()
    {
        using var image = PeImage.Load(_bytes, File).Image!;
        return _one.Analyze(image, DefaultSeverityPolicy.Instance).Results.Count;
    }
}

/// <summary>Whole-image work: every rule, and the epilog scan with one and two workers.</summary>
[MemoryDiagnoser]
public class ImageBenchmarks
{
    private byte[] _bytes = [];

    [Params("hostfxr.dll", "coreclr.dll")]
    public string File { get; set; } = "coreclr.dll";

    [GlobalSetup]
    public void Setup() => _bytes = System.IO.File.ReadAllBytes(TestPaths.RuntimeDll(File));

    [Benchmark(Description = "all rules")]
    public int AllRules()
    {
        using var image = PeImage.Load(_bytes, File).Image!;
        return RuleEngine.CreateDefault().Analyze(image, DefaultSeverityPolicy.Instance).Results.Count;
    }

    [Benchmark(Description = "stack-walk verification")]
    [Arguments(1)]
    [Arguments(2)]
    public int EpilogScan(int threads)
    {
        using var image = PeImage.Load(_bytes, File).Image!;
        return StackWalkAnalysis.Of(new AnalysisContext(image, new AnalysisSettings { Parallelism = threads })).FunctionsVerified;
    }
}
