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
    public void Json_format_prints_one_object_per_result_with_its_place()
    {
        _folder.Copy("Microsoft.DiaSymReader.Native.amd64.dll", "a.dll");

        var run = CliRun.Of("scan", _folder.Root, "--fail-level", "none", "--format", "json", "--source-root", _folder.Root);

        using var document = JsonDocument.Parse(run.Output);
        var result = Assert.Single(document.RootElement.GetProperty("results").EnumerateArray());
        Assert.Equal("a.dll", result.GetProperty("file").GetString());
        Assert.Equal("PE1008", result.GetProperty("ruleId").GetString());
        Assert.Equal("note", result.GetProperty("level").GetString());
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
