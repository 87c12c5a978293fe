using System.Collections.Concurrent;
using Pelint.Engine;
using Pelint.Pe;
using Pelint.Rules;
using Pelint.Testing;

namespace Pelint.Tests.Fuzz;

/// <summary>
/// Seeded mutation fuzzing over real binaries: every mutant is opened and analyzed by all rules;
/// no exception may escape or be caught as a rule failure (PEL0003), no mutant may run past the
/// watchdog, and the bytes allocated per mutant stay bounded. CI runs the default 2,000 mutants;
/// <c>PELINT_FUZZ_MUTANTS=200000</c> runs a long local campaign, <c>PELINT_FUZZ_SEED</c> picks
/// another deterministic stream. A failing mutant is written to artifacts/fuzz/ and named by
/// seed file, base seed and mutant id, so it can be replayed (<see cref="RunMutant"/>) as a
/// regression case. No campaign so far has found one (see README, "Fuzzing").
/// </summary>
public sealed class MutationFuzzTests
{
    // "PELINT" + 6 in ASCII; fixed, because a failing mutant is named by base seed and id and must replay.
    private const ulong DefaultBaseSeed = 0x5045_4C49_4E54_0006;
    private static readonly TimeSpan Watchdog = TimeSpan.FromSeconds(20);

    // A generous bound: a mutant may cost a fixed amount plus a multiple of its size, never what a header field asks for.
    private const long AllocationBase = 64L << 20;
    private const long AllocationPerByte = 32;

    private static readonly Lazy<IReadOnlyList<Seed>> AllSeeds = new(LoadSeeds);

    internal sealed record Seed(string Name, byte[] Bytes, SeedLayout Layout);

    [Fact]
    public void Seeds_include_runtime_pack_images_with_exception_data_to_mutate()
    {
        var seeds = AllSeeds.Value;
        Assert.Contains(seeds, s => s.Name == "runtime/hostfxr.dll");
        Assert.Contains(seeds, s => s.Layout.UnwindFields.Count > 0 && s.Layout.ChainAndScopeFields.Count > 0);
        Assert.Contains(seeds, s => s.Name.StartsWith("corkami/", StringComparison.Ordinal));
    }

    [Fact]
    public void Mutator_is_deterministic_for_a_seed_and_mutant_id()
    {
        var seed = AllSeeds.Value.First(s => s.Name == "runtime/hostfxr.dll");
        var a = Mutator.Mutate(seed.Bytes, seed.Layout, DefaultBaseSeed, 1234);
        var b = Mutator.Mutate(seed.Bytes, seed.Layout, DefaultBaseSeed, 1234);
        var c = Mutator.Mutate(seed.Bytes, seed.Layout, DefaultBaseSeed, 1235);

        Assert.Equal(a.Description, b.Description);
        Assert.Equal(a.Bytes, b.Bytes);
        Assert.False(a.Bytes.AsSpan().SequenceEqual(c.Bytes) && a.Description == c.Description);
    }

    [Fact]
    public void Mutants_are_analyzed_without_exception_hang_or_unbounded_allocation()
    {
        var count = EnvInt("PELINT_FUZZ_MUTANTS", 2000);
        var baseSeed = Environment.GetEnvironmentVariable("PELINT_FUZZ_SEED") is { } s && ulong.TryParse(s, out var parsed) ? parsed : DefaultBaseSeed;
        var seeds = AllSeeds.Value;
        var failures = new ConcurrentBag<string>();
        var analyzed = 0;
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Math.Min(2, Environment.ProcessorCount) }, id =>
        {
            var seed = Pick(seeds, id);
            var outcome = RunMutant(seed, baseSeed, id);
            if (outcome.Failure is { } failure)
            {
                failures.Add(failure);
                Save(seed, baseSeed, id);
            }
            else if (outcome.Analyzed)
            {
                Interlocked.Increment(ref analyzed);
            }
        });

        Assert.True(failures.IsEmpty, $"{failures.Count} of {count} mutants failed:\n" + string.Join("\n", failures.Take(40).Order(StringComparer.Ordinal)));

        // The mutants must mostly still open, or the fuzzer only tests the header check.
        Assert.True(analyzed > count / 3, $"only {analyzed} of {count} mutants opened as PE images");
    }

    /// <summary>Mutants that once failed, replayed from seed file, base seed and id.</summary>
    [Theory]
    [InlineData("runtime/hostpolicy.dll", DefaultBaseSeed, 546)] // PE3005 threw when jump tables covered a whole fragment
    [InlineData("runtime/createdump.exe", DefaultBaseSeed, 650)] // epilog analysis allocated 123 MB on unwind info that does not decode
    public void Former_failing_mutant_is_analyzed_without_failure(string seedName, ulong baseSeed, int id)
    {
        var seed = AllSeeds.Value.Single(s => s.Name == seedName);

        var outcome = RunMutant(seed, baseSeed, id);

        Assert.Null(outcome.Failure);
        Assert.True(outcome.Analyzed);
    }


    internal static Seed Pick(IReadOnlyList<Seed> seeds, int id)
    {
        // Half the mutants go to the MSVC-built images (exception data, scope tables), half to the odd corpus.
        var real = seeds.Where(s => !s.Name.StartsWith("corkami/", StringComparison.Ordinal)).ToList();
        var odd = seeds.Where(s => s.Name.StartsWith("corkami/", StringComparison.Ordinal)).ToList();
        var pool = (id % 2 == 0 || odd.Count == 0) && real.Count > 0 ? real : odd;
        return pool[(id / 2) % pool.Count];
    }

    internal readonly record struct Outcome(bool Analyzed, string? Failure);

    internal static Outcome RunMutant(Seed seed, ulong baseSeed, int id)
    {
        var (bytes, description) = Mutator.Mutate(seed.Bytes, seed.Layout, baseSeed, id);
        var name = $"{seed.Name}#{baseSeed}:{id}";
        var work = Task.Factory.StartNew(() => AnalyzeCounting(bytes, name), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            if (!work.Wait(Watchdog))
            {
                return new(false, $"{name} HANG (> {Watchdog.TotalSeconds} s): {description}");
            }
        }
        catch (AggregateException e)
        {
            return new(false, $"{name} EXCEPTION {e.InnerException?.GetType().Name}: {e.InnerException?.Message} [{description}]\n{e.InnerException?.StackTrace}");
        }

        var (report, reason, allocated) = work.Result;
        var limit = AllocationBase + (AllocationPerByte * bytes.Length);
        if (allocated > limit)
        {
            return new(false, $"{name} allocated {allocated:N0} bytes (limit {limit:N0}): {description}");
        }

        if (report is null)
        {
            return string.IsNullOrWhiteSpace(reason) ? new(false, $"{name} failed to open without a reason: {description}") : new(false, null);
        }

        var failed = report.Notifications.FirstOrDefault(n => n.Id == ToolNotification.RuleFailed);
        return failed is null ? new(true, null) : new(false, $"{name} RULE FAILED: {failed.Message} [{description}]");
    }

    private static (FileReport? Report, string? Reason, long Allocated) AnalyzeCounting(byte[] bytes, string name)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var opened = PeImage.Load(bytes, name);
        if (!opened.Success)
        {
            return (null, opened.Reason, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        using var image = opened.Image!;
        var report = RuleHarness.Engine.Analyze(image, DefaultSeverityPolicy.Instance);
        return (report, null, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static void Save(Seed seed, ulong baseSeed, int id)
    {
        var (bytes, _) = Mutator.Mutate(seed.Bytes, seed.Layout, baseSeed, id);
        var dir = Path.Combine(TestPaths.RepositoryRoot, "artifacts", "fuzz");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, $"{seed.Name.Replace('/', '_')}.{baseSeed}.{id}.bin"), bytes);
    }

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var v) && v > 0 ? v : fallback;

    private static List<Seed> LoadSeeds()
    {
        var seeds = new List<Seed>();
        void Add(string name, string path)
        {
            var bytes = File.ReadAllBytes(path);
            seeds.Add(new Seed(name, bytes, SeedLayout.Of(bytes)));
        }

        // Small MSVC-built x64 images of the runtime pack: full .pdata/.xdata, chains, C scope tables.
        foreach (var dll in new[] { "hostfxr.dll", "hostpolicy.dll", "createdump.exe", "mscorrc.dll", "clretwrc.dll" })
        {
            Add("runtime/" + dll, TestPaths.RuntimeDll(dll));
        }

        if (Directory.Exists(TestPaths.SamplesBin))
        {
            foreach (var file in Directory.GetFiles(TestPaths.SamplesBin).Where(f => f.EndsWith(".exe", StringComparison.Ordinal) || f.EndsWith(".dll", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
            {
                Add("samples/" + Path.GetFileName(file), file);
            }
        }

        if (Directory.Exists(TestPaths.CorkamiCorpus))
        {
            foreach (var file in Directory.GetFiles(TestPaths.CorkamiCorpus).Order(StringComparer.Ordinal))
            {
                if (new FileInfo(file).Length <= 1 << 20)
                {
                    Add("corkami/" + Path.GetFileName(file), file);
                }
            }
        }

        return seeds;
    }
}
