using Pelint.Engine;
using Pelint.Pe;
using Pelint.Rules;
using Pelint.Testing;

namespace Pelint.Tests.Rules;

/// <summary>
/// PE2001/PE2002 read the image's hot-patch intent. Expected values come from the samples' build
/// (samples/build.sh, samples/README.md) and from x86_64-w64-mingw32-objdump -d and
/// llvm-readobj-22 --unwind: nohotpatch.x64.exe has 4 .pdata entries, 0x1000, 0x1030, 0x1070
/// and 0x10A0; the first three start with push rsi (56), the last with sub rsp,0x28 (48 83 EC 28);
/// the first is at the start of .text and the others follow 00 bytes, so none is padded.
/// </summary>
public sealed class HotPatchRulesTests
{
    private static string Sample(string name) => Path.Combine(TestPaths.SamplesBin, name);

    [Fact]
    public void An_image_built_hot_patchable_with_one_unpadded_function_gives_exactly_that_function()
    {
        var report = RuleHarness.Analyze(Sample("hotpatch-one.x64.exe"));

        var result = Assert.Single(report.Results, r => r.Rule.Id is "PE2001" or "PE2002");
        Assert.Equal("PE2002", result.Rule.Id);
        Assert.Equal(Level.Warning, result.Level);
        Assert.Equal(0x1130u, result.Finding.Location.Rva);
        Assert.Equal("unpadded_helper", result.Finding.Location.Function); // from hotpatch-one.x64.pdb
        Assert.Contains("preceded by 660F1F440000", result.Message, StringComparison.Ordinal);
        Assert.Contains("5 of 6 entries comply", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_image_never_built_hot_patchable_gets_one_note_and_no_warning()
    {
        var report = RuleHarness.Analyze(Sample("nohotpatch.x64.exe"));

        Assert.DoesNotContain(report.Results, r => r.Rule.Id == "PE2001");
        var note = Assert.Single(report.Results, r => r.Rule.Id == "PE2002");
        Assert.Equal(Level.Note, note.Level);
        Assert.Equal("not-hot-patchable", note.Finding.MessageId);
        Assert.Equal(4, note.Finding.Properties["functionsChecked"]);
        Assert.Equal(0, note.Finding.Properties["functionsPadded"]);
        Assert.Equal(1, note.Finding.Properties["functionsWithLongFirstInstruction"]);
        Assert.Contains("0% of 4 function entries", note.Message, StringComparison.Ordinal);
        Assert.Contains("25% start with an instruction of at least 2 bytes", note.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Required_hot_patchability_makes_each_offender_an_error()
    {
        var report = Analyze(Sample("nohotpatch.x64.exe"), new Policy(Required: true));

        var first = report.Results.Where(r => r.Rule.Id == "PE2001").ToList();
        Assert.Equal([0x1000u, 0x1030u, 0x1070u], first.Select(r => r.Finding.Location.Rva!.Value));
        Assert.All(first, r => Assert.Equal(Level.Error, r.Level));
        Assert.All(first, r => Assert.Contains("starts with a 1-byte instruction (56)", r.Message, StringComparison.Ordinal));
        var padding = report.Results.Where(r => r.Rule.Id == "PE2002").ToList();
        Assert.Equal([0x1000u, 0x1030u, 0x1070u, 0x10A0u], padding.Select(r => r.Finding.Location.Rva!.Value));
        Assert.All(padding, r => Assert.Equal(Level.Error, r.Level));
        Assert.Contains("starts at the beginning of its section", padding[0].Message, StringComparison.Ordinal);
        Assert.Contains("pelint_hotpatch_required", padding[1].Message, StringComparison.Ordinal);
        // Fingerprint keys survive a rebuild: export names (objdump -p), else section#ordinal; never an RVA.
        Assert.Equal(["ticks_plus", "mix", "twice", ".text#3"], padding.Select(r => r.Finding.FingerprintKey));
    }

    [Fact]
    public void A_configured_level_wins_over_the_level_the_rule_picks()
    {
        var report = Analyze(Sample("nohotpatch.x64.exe"), new Policy(Required: false, Configured: Level.Warning));

        Assert.Equal(Level.Warning, Assert.Single(report.Results, r => r.Rule.Id == "PE2002").Level);
    }

    [Fact]
    public void Hot_patchable_samples_stay_clean()
    {
        foreach (var name in new[] { "hotpatch.x64.exe", "hotpatch.x86.dll", "seh-scopes.x64.exe" })
        {
            Assert.DoesNotContain(RuleHarness.Analyze(Sample(name)).Results, r => r.Rule.Id is "PE2001" or "PE2002");
        }
    }

    [Fact]
    public void The_runtime_pack_was_never_built_hot_patchable_and_gets_no_hot_patch_warning()
    {
        var root = Path.GetFullPath(Path.Combine(TestPaths.RuntimePackNative, "..", ".."));
        var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".exe", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.True(files.Count > 150, $"{files.Count} images under {root}");

        var notes = 0;
        foreach (var file in files)
        {
            var results = RuleHarness.Analyze(file).Results.Where(r => r.Rule.Id is "PE2001" or "PE2002").ToList();
            Assert.All(results, r => Assert.Equal(Level.Note, r.Level));
            Assert.True(results.Count <= 1, $"{file}: {results.Count} hot-patch results");
            notes += results.Count;
        }

        Assert.True(notes > 50, $"{notes} notes");
    }

    private static FileReport Analyze(string path, ISeverityPolicy policy)
    {
        var opened = PeImage.Load(File.ReadAllBytes(path), Path.GetFileName(path));
        Assert.True(opened.Success, opened.Reason);
        using var image = opened.Image!;
        return RuleHarness.Engine.Analyze(image, policy);
    }

    private sealed record Policy(bool Required, Level? Configured = null) : ISeverityPolicy
    {
        public Level? LevelFor(RuleDescriptor rule, string path) => Configured ?? (rule.EnabledByDefault ? rule.DefaultLevel : null);

        public bool IsLevelConfigured(RuleDescriptor rule, string path) => Configured is not null;

        public ImageRequirements RequirementsFor(string path) => new(Required);
    }
}
