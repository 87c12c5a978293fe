using Pelint.Engine;
using Pelint.Pe;
using Pelint.Rules;
using Pelint.Testing;

namespace Pelint.Tests.Engine;

/// <summary>
/// corkami's bin_65535sects.exe: the loader takes 65,535 sections, the BCL's header reader at most
/// 32,767. The image is analyzed from its first 32,767 section headers, and says so.
/// </summary>
public sealed class SectionCountTests
{
    private static string File65535 => Path.Combine(TestPaths.CorkamiCorpus, "bin_65535sects.exe");

    [Fact]
    public void Image_with_65535_sections_opens_with_the_first_32767_and_a_header_problem()
    {
        using var image = PeImage.Open(File65535).Image!;

        Assert.Equal(short.MaxValue, image.Sections.Count);
        var problem = Assert.Single(image.HeaderProblems);
        Assert.Equal(ProblemCode.SectionsOver32767, problem.Code);
        Assert.Equal("sections-over-32767", problem.Id);
        Assert.Contains("65,535", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Scan_reports_the_cut_once_and_caps_the_per_section_results()
    {
        var report = new Scanner(RuleEngine.CreateDefault()).ScanOne(new ScanInput(File65535, true), new ScanOptions());

        Assert.Equal(FileStatus.Analyzed, report.Status);
        var notice = Assert.Single(report.Notifications, n => n.Id == ToolNotification.FileMalformed);
        Assert.Equal(Level.Warning, notice.Level);
        var sectionResults = report.Results.Where(r => r.Finding.RuleId == "PE1009").ToList();
        Assert.Equal(51, sectionResults.Count); // 50 sections, then one result counting the rest
        Assert.Equal("capped", sectionResults[^1].Finding.MessageId);
    }
}
