using System.Diagnostics;
using System.Globalization;
using Pelint.Engine;
using Pelint.Pe;
using Pelint.Testing;
using Xunit.Abstractions;

namespace Pelint.Tests.Fuzzing;

/// <summary>
/// Seeded mutation fuzzing of the whole engine (every reader, every rule) over real binaries:
/// no mutant may raise an exception, make a rule fail, or hang. PELINT_FUZZ_MUTANTS sets the
/// count (CI: 2,400; e.g. 200000 locally), PELINT_FUZZ_START the first mutant number.
/// </summary>
public sealed class MutationFuzzTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Watchdog = TimeSpan.FromSeconds(20);

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;

    private static List<(string Name, byte[] Bytes)> Seeds()
    {
        var seeds = new List<(string, byte[])>();
        foreach (var file in Directory.GetFiles(TestPaths.SamplesBin).Where(f => !f.EndsWith(".expected", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            seeds.Add((Path.GetFileName(file), File.ReadAllBytes(file)));
        }

        // Real MSVC images with thousands of functions, chains, handlers and scope tables.
        seeds.Add(("hostfxr.dll", File.ReadAllBytes(TestPaths.RuntimeDll("hostfxr.dll"))));
        seeds.Add(("createdump.exe", File.ReadAllBytes(TestPaths.RuntimeDll("createdump.exe"))));
        if (Directory.Exists(TestPaths.CorkamiCorpus))
        {
            foreach (var file in Directory.GetFiles(TestPaths.CorkamiCorpus).Order(StringComparer.Ordinal).Where((_, i) => i % 8 == 0))
            {
                seeds.Add(("corkami/" + Path.GetFileName(file), File.ReadAllBytes(file)));
            }
        }

        return seeds;
    }

    [Fact]
    public async Task Mutants_of_real_images_never_throw_fail_a_rule_or_hang()
    {
        var count = Setting("PELINT_FUZZ_MUTANTS", 2400);
        var start = Setting("PELINT_FUZZ_START", 0);
        var seeds = Seeds();
        var engine = RuleEngine.CreateDefault();
        var failures = new List<string>();
        var stopwatch = Stopwatch.StartNew();
        var opened = 0;
        var findings = 0;
        for (var m = start; m < start + count && failures.Count < 10; m++)
        {
            var (name, seed) = seeds[m % seeds.Count];
            var mutant = PeMutator.Mutate(seed, seeds[(m * 7 + 3) % seeds.Count].Bytes, m);
            var id = $"mutant {m} of {name}";
            try
            {
                var report = await Task.Run(() =>
                {
                    var result = PeImage.Load(mutant, id);
                    if (result.Image is not { } image)
                    {
                        return null;
                    }

                    using (image)
                    {
                        return engine.Analyze(image, DefaultSeverityPolicy.Instance);
                    }
                }).WaitAsync(Watchdog);
                if (report is null)
                {
                    continue;
                }

                opened++;
                findings += report.Results.Count;
                foreach (var n in report.Notifications.Where(n => n.Id == ToolNotification.RuleFailed))
                {
                    failures.Add($"{id}: {n.Message}");
                }
            }
            catch (TimeoutException)
            {
                failures.Add($"{id}: no result within {Watchdog.TotalSeconds} s (hang)");
            }
            catch (Exception e)
            {
                failures.Add($"{id}: {e.GetType().Name}: {e.Message}");
            }
        }

        output.WriteLine($"{count} mutants of {seeds.Count} seeds in {stopwatch.Elapsed.TotalSeconds:0.0} s: {opened} opened as images, {findings} findings, {failures.Count} failures");
        Assert.True(failures.Count == 0, "reproduce with PELINT_FUZZ_START=<n> PELINT_FUZZ_MUTANTS=1:\n" + string.Join("\n", failures));
    }
}
