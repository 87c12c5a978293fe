using System.Text.Json;
using Pelint.Reporting;

namespace Pelint.Cli.Tests;

public sealed class ConsoleOutputTests : IDisposable
{
    private readonly ScanFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Redirected_output_has_no_colour_codes_and_no_progress_bar()
    {
        _folder.Copy("Microsoft.DiaSymReader.Native.amd64.dll", "a.dll");

        var run = CliRun.Of("scan", _folder.Root, "--fail-level", "none");

        Assert.Contains("PE1008", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', run.Output);
        Assert.Equal(string.Empty, run.Error);
    }

    [Fact]
    public void Summary_table_counts_files_by_status_and_results_by_level_before_the_summary_line()
    {
        _folder.Copy("Microsoft.DiaSymReader.Native.amd64.dll", "a.dll");
        File.WriteAllText(_folder.PathOf("notes.txt"), "not a PE image");

        var lines = CliRun.Of("scan", _folder.Root, "--fail-level", "none").Output.TrimEnd().Split('\n');

        Assert.Matches(@"^\s+files\s+scanned\s+skipped\s+failed\s+incomplete\s+results\s+error\s+warning\s+note\s+none\s+absent$", lines[^3]);
        Assert.Matches(@"^\s+1\s+1\s+0\s+0\s+0\s+\d+\s+[1-9]\d*\s+0\s+0$", lines[^2]); // PE1008 gives at least one note
        Assert.StartsWith("1 file scanned, 1 skipped", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void Json_format_prints_one_object_per_result_with_its_place()
    {
        _folder.Copy("Microsoft.DiaSymReader.Native.amd64.dll", "a.dll");

        var run = CliRun.Of("scan", _folder.Root, "--fail-level", "none", "--format", "json", "--source-root", _folder.Root);

        using var document = JsonDocument.Parse(run.Output);
        var results = document.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.All(results, r => Assert.Equal("a.dll", r.GetProperty("file").GetString()));
        var cet = Assert.Single(results, r => r.GetProperty("ruleId").GetString() == "PE1008");
        Assert.Equal("note", cet.GetProperty("level").GetString());
        Assert.Matches("^[0-9a-f]{16}$", cet.GetProperty("fingerprint").GetString());
    }

    [Fact]
    public void Progress_bar_stays_hidden_for_quick_scans_and_erases_itself_after_long_ones()
    {
        using var quick = new StringWriter();
        using (var bar = new ProgressBar(quick, 10))
        {
            bar.Report(10);
        }

        Assert.Equal(string.Empty, quick.ToString());

        using var slow = new StringWriter();
        using (var bar = new ProgressBar(slow, 4, TimeSpan.Zero))
        {
            bar.Report(2);
        }

        Assert.StartsWith("\r[###############               ] 2/4 files", slow.ToString(), StringComparison.Ordinal);
        Assert.EndsWith("\r", slow.ToString(), StringComparison.Ordinal);
    }
}
