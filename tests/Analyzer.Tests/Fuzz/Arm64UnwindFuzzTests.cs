using System.Buffers.Binary;
using Pelint.Engine;
using Pelint.Pe;
using Pelint.Testing;

namespace Pelint.Tests.Fuzz;

/// <summary>
/// ARM64 unwind data under mutation: words of a real image's .pdata and .xdata (and the A64
/// code they describe) get bit flips and boundary values, then every rule runs and the dump is
/// written. No mutant may throw, fail a rule (PEL0003) or hang. Deterministic: mutant i of the
/// stream is the same on every run (PELINT_FUZZ_MUTANTS scales the count as for the main fuzzer).
/// </summary>
public sealed class Arm64UnwindFuzzTests
{
    private static readonly uint[] Boundary = [0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0xFFFF, 0x3FFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xE4E4E4E4, 0xE7E7E7E7, 0xE6E6E6E6, 0xE5E5E5E5];

    [Fact]
    public async Task Mutated_arm64_unwind_data_is_analyzed_and_dumped_without_failure()
    {
        var image = Arm64Images.NuGet.Single(i => i.Name == "WebView2Loader.dll");
        var original = File.ReadAllBytes(image.Path);
        var patch = ImagePatch.FromBytes(original);
        var (pdataRva, pdataSize) = patch.GetDirectory(3);
        var pdata = patch.FileOffsetOf(pdataRva);
        var entries = (int)(pdataSize / 8);

        // Words to mutate: every .pdata word, the first words of each .xdata record, the first code words of each function.
        var targets = new List<int>();
        for (var i = 0; i < entries; i++)
        {
            targets.Add(pdata + (i * 8));
            targets.Add(pdata + (i * 8) + 4);
            var unwind = BinaryPrimitives.ReadUInt32LittleEndian(original.AsSpan(pdata + (i * 8) + 4));
            var begin = BinaryPrimitives.ReadUInt32LittleEndian(original.AsSpan(pdata + (i * 8)));
            if ((unwind & 3) == 0)
            {
                var xdata = patch.FileOffsetOf(unwind);
                targets.AddRange(Enumerable.Range(0, 4).Select(k => xdata + (k * 4)).Where(o => o + 4 <= original.Length));
            }

            targets.AddRange(Enumerable.Range(0, 2).Select(k => patch.FileOffsetOf(begin) + (k * 4)));
        }

        var count = int.TryParse(Environment.GetEnvironmentVariable("PELINT_FUZZ_MUTANTS"), out var n) ? Math.Max(50, n / 4) : 150;
        var failures = new List<string>();
        for (var id = 0; id < count && failures.Count < 5; id++)
        {
            var random = new Random(0x4152_4D36 + id); // "ARM6"
            var bytes = (byte[])original.Clone();
            var mutations = 1 + random.Next(3);
            for (var m = 0; m < mutations; m++)
            {
                var at = targets[random.Next(targets.Count)];
                var value = random.Next(2) == 0
                    ? BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at)) ^ (1u << random.Next(32))
                    : Boundary[random.Next(Boundary.Length)];
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), value);
            }

            // On a thread of its own, so that a thread pool kept busy by other tests cannot look like a hang.
            var name = $"{image.Name}#arm64:{id}";
            var work = Task.Factory.StartNew(() => Run(bytes, name), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            if (await Task.WhenAny(work, Task.Delay(TimeSpan.FromSeconds(20))) != work)
            {
                failures.Add($"mutant {id}: hang");
            }
            else if (await work is { } failure)
            {
                failures.Add($"mutant {id}: {failure}");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    private static string? Run(byte[] bytes, string name)
    {
        var opened = PeImage.Load(bytes, name);
        if (!opened.Success)
        {
            return null;
        }

        using var image = opened.Image!;
        var report = RuleHarness.Engine.Analyze(image, DefaultSeverityPolicy.Instance);
        if (report.Notifications.FirstOrDefault(n => n.Id == ToolNotification.RuleFailed) is { } failed)
        {
            return failed.Message;
        }

        _ = Pelint.Reporting.UnwindDump.ToJsonString(image);
        Pelint.Reporting.UnwindDump.WriteText(image, TextWriter.Null);
        return null;
    }
}
