using Pelint.Analysis;
using Pelint.Analysis.StackWalk;
using Pelint.Engine;
using Pelint.Pe;
using Pelint.Rules;
using Pelint.Testing;

namespace Pelint.Tests.StackWalk;

/// <summary>The samples built from source yield exactly the findings listed beside them; real MSVC DLLs yield exactly their real stack-walk defects.</summary>
public sealed class StackWalkSampleTests
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

    // Where the verifier is known to be wrong on a sample, the sample's .expected file stays the
    // truth: the wrong result is set aside (only when it names exactly these functions), the rest
    // of the image is still checked, and the test is then reported as skipped with the reason, so
    // the gap stays visible until the verifier is fixed (and this entry is removed).
    private static readonly (string Sample, string Rule, string[] Functions, string Reason)[] KnownVerifierGaps =
    [
    ];

    [SkippableTheory]
    [MemberData(nameof(Samples))]
    public void Sample_yields_exactly_its_expected_findings(string sample)
    {
        // A line is a rule ID, or a rule ID, the function and the RVA of the instruction it is
        // reported at ("PE3005 vzeroupper_after_release 0x104B"); a file uses one form throughout.
        var path = Path.Combine(TestPaths.SamplesBin, sample);
        var lines = File.ReadLines(path + ".expected").Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var located = lines.Any(l => l.Contains(' ', StringComparison.Ordinal));
        Assert.All(lines, l => Assert.Equal(located ? 3 : 1, l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length));
        var expected = lines.Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries))).Order(StringComparer.Ordinal);

        var report = RuleHarness.Analyze(path);
        var gaps = KnownVerifierGaps.Where(g => g.Sample == sample).ToList();
        var setAside = new List<string>();
        var actual = new List<string>();
        foreach (var result in report.Results)
        {
            var gap = gaps.FirstOrDefault(g => g.Rule == result.Rule.Id && NamesExactly(result.Finding, g.Functions));
            if (gap.Reason is not null)
            {
                setAside.Add(gap.Reason);
                continue;
            }

            actual.Add(located ? $"{result.Rule.Id} {result.Finding.Location.Function} 0x{result.Finding.Location.Rva:X}" : result.Rule.Id);
        }

        Assert.Equal(expected, actual.Order(StringComparer.Ordinal));
        Skip.If(setAside.Count > 0, string.Join("; ", setAside));
    }

    // The finding's functions (its location's and its related locations') are exactly these.
    private static bool NamesExactly(Finding finding, string[] functions) =>
        finding.RelatedLocations.Select(l => l.Function).Append(finding.Location.Function).OfType<string>().ToHashSet().SetEquals(functions);

    [Fact]
    public void Scheduled_sample_reports_the_mov_that_runs_after_add_rsp()
    {
        // objdump -d: 0x103d add rsp,0x28; 0x1041 mov eax,1; pop rsi; pop rbx; ret. The prolog
        // pushed rbx and rsi and allocated 0x28: at the mov rsp is entry-0x10, and the codes
        // (0x28, then two pops) lead to the return address at entry+0x28.
        var report = RuleHarness.Analyze(Path.Combine(TestPaths.SamplesBin, "epilog-scheduled.x64.exe"));

        var result = Assert.Single(report.Results);
        Assert.Equal("PE3005", result.Rule.Id);
        Assert.Equal(0x1041u, result.Finding.Location.Rva);
        Assert.Contains("[entry rsp+0x28]", result.Message, StringComparison.Ordinal);
        Assert.Contains("rsp is entry rsp-0x10", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Harmless_sample_follows_every_switch_case_and_never_decodes_the_table_between_them()
    {
        // objdump -d: jump_table_llvm at 0x1170, lea rax,[rip+0xa] -> table at 0x118C (4 entries
        // 0x10, 0x1B, 0x25, 0x33 from it), cases at 0x119C, 0x11A7, 0x11B1, 0x11BF, default at
        // 0x11C9 (ja). objdump decodes the table as adc/sbb/and and swallows case 0's call.
        using var image = PeImage.Open(Path.Combine(TestPaths.SamplesBin, "stackwalk-harmless.x64.exe")).Image!;
        var judged = new List<uint>();
        var verdict = Assert.Single(StackWalkAnalysis.VerifyEach(image, f => f.Primary.BeginAddress == 0x1170, null, (rva, _, _) => judged.Add(rva)));

        Assert.Empty(verdict.Hazards);
        Assert.Empty(verdict.Unfollowed);
        Assert.All([0x119Cu, 0x11A7u, 0x11B1u, 0x11BFu, 0x11C9u], rva => Assert.Contains(rva, judged));
        Assert.DoesNotContain(judged, rva => rva is >= 0x118C and < 0x119C);
    }

    [Fact]
    public void Undocumented_sample_gives_one_note_with_each_form_when_PE3009_is_on()
    {
        var report = new Scanner(RuleHarness.Engine).ScanOne(new ScanInput(Path.Combine(TestPaths.SamplesBin, "epilog-undocumented.x64.exe"), Explicit: true),
            new ScanOptions { Policy = new Enable("PE3009") });

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
    [InlineData("hostpolicy.dll")]
    public void Msvc_runtime_dll_has_no_stack_walk_error(string dll)
    {
        var report = RuleHarness.Analyze(TestPaths.RuntimeDll(dll));

        Assert.DoesNotContain(report.Results, r => r.Rule.Id is "PE3005" or "PE3006" or "PE3010" or "PE3011" or "PE3012");
    }

    [Fact]
    public void Coreclr_reports_exactly_the_hand_written_stubs_that_push_what_their_codes_do_not_record()
    {
        // objdump -d and -p, by hand:
        //  0x1832c0: mov rdx,rsp; push rax; push rdx; push r15 ... - codes start with push r15 at +7;
        //  0x1845a0, 0x1845d0, 0x184600: push rax; push rbp; ... - codes start with push rbp at +2;
        //  0x184690: mov rdx,rsp; push rcx; ... - the only code is the 0x520 allocation.
        // In each, from the instruction after the unrecorded push on, a walk reads the return
        // address from a slot the push moved.
        var report = RuleHarness.Analyze(TestPaths.RuntimeDll("coreclr.dll"));

        Assert.DoesNotContain(report.Results, r => r.Rule.Id is "PE3005" or "PE3006" or "PE3011" or "PE3012");
        var stubs = report.Results.Where(r => r.Rule.Id == "PE3010").Select(r => (r.Finding.Location.FunctionRva, r.Finding.Location.Rva)).ToList();
        Assert.Equal([(0x1832C0u, 0x1832C4u), (0x1845A0u, 0x1845A1u), (0x1845D0u, 0x1845D1u), (0x184600u, 0x184601u), (0x184690u, 0x184694u)], stubs);
    }

    // Every rule at its page's level, and the ones named on too.
    private sealed class Enable(params string[] ids) : ISeverityPolicy
    {
        public Level? LevelFor(RuleDescriptor rule, string path) => rule.EnabledByDefault || ids.Contains(rule.Id) ? rule.DefaultLevel : null;
    }
}
