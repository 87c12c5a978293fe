using Pelint.Analysis;
using Pelint.Analysis.StackWalk;
using Pelint.Pe;
using Pelint.Testing;

namespace Pelint.Tests.StackWalk;

/// <summary>The samples built from source yield exactly the findings listed beside them; real MSVC DLLs yield no false epilog defects.</summary>
public sealed class EpilogSampleTests
{
    public static TheoryData<string> Samples()
    {
        var data = new TheoryData<string>();
        foreach (var expected in Directory.EnumerateFiles(TestPaths.SamplesBin, "*.expected").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(expected)[..^".expected".Length]);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Sample_yields_exactly_its_expected_findings(string sample)
    {
        var path = Path.Combine(TestPaths.SamplesBin, sample);
        var expected = File.ReadLines(path + ".expected").Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).Order(StringComparer.Ordinal);

        var report = RuleHarness.Analyze(path);

        Assert.Equal(expected, report.RuleIds());
    }

    [Fact]
    public void Scheduled_sample_names_the_mov_that_runs_after_add_rsp()
    {
        // objdump -d: 0x103d add rsp,0x28; 0x1041 mov eax,1; pop rsi; pop rbx; ret.
        var report = RuleHarness.Analyze(Path.Combine(TestPaths.SamplesBin, "epilog-scheduled.x64.exe"));

        var result = Assert.Single(report.Results);
        Assert.Equal("PE3005", result.Rule.Id);
        Assert.Equal(0x103Du, result.Finding.Location.Rva);
        Assert.Contains("0x1041", result.Message);
        Assert.Contains("4883C428B8010000005E5BC3", result.Message);
    }

    [Fact]
    public void Undocumented_sample_gives_one_note_with_each_form_as_a_related_location()
    {
        var report = RuleHarness.Analyze(Path.Combine(TestPaths.SamplesBin, "epilog-undocumented.x64.exe"));

        var result = Assert.Single(report.Results);
        Assert.Equal("PE3009", result.Rule.Id);
        Assert.Equal(3, result.Finding.RelatedLocations.Count);
        Assert.Contains(result.Finding.RelatedLocations, l => l.Description!.StartsWith("mov rsp, r11", StringComparison.Ordinal));
        Assert.Contains(result.Finding.RelatedLocations, l => l.Description!.StartsWith("sub rsp, -imm", StringComparison.Ordinal));
        Assert.Contains(result.Finding.RelatedLocations, l => l.Description!.StartsWith("lea rsp, [rsp+x]", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("clrjit.dll")]
    [InlineData("hostfxr.dll")]
    public void Msvc_runtime_dll_has_no_broken_or_mismatched_epilog(string dll)
    {
        var report = RuleHarness.Analyze(TestPaths.RuntimeDll(dll));

        Assert.DoesNotContain(report.Results, r => r.Rule.Id is "PE3005" or "PE3006");
        Assert.Single(report.Results, r => r.Rule.Id == "PE3009");
    }

    [Fact]
    public void Coreclr_reports_only_the_stub_that_pushes_more_than_its_unwind_codes_record()
    {
        // objdump -d at 0x1801832c0: mov rdx,rsp; push rax; push rdx; push r15 ... ; the codes
        // (objdump -p) start at pc+0x07 with push r15, so the epilog's final pop rdx and the ret
        // through the pushed rax are undescribed: a real disagreement in hand-written assembly.
        var report = RuleHarness.Analyze(TestPaths.RuntimeDll("coreclr.dll"));

        Assert.DoesNotContain(report.Results, r => r.Rule.Id == "PE3005");
        var result = Assert.Single(report.Results, r => r.Rule.Id == "PE3006");
        Assert.Equal(0x1832EBu, result.Finding.Location.Rva);
        Assert.Contains("4883C43058595F5E5B5D415C415D415E415F5AC3", result.Message);
    }
}
