using System.Text.Json;
using System.Text.RegularExpressions;
using Pelint.Reporting;
using Pelint.Rules;
using Pelint.Sarif;

namespace Pelint.Cli.Tests;

/// <summary>
/// The text report says what it lists and lists it, wraps at word boundaries, and groups a file
/// with many results per rule; --format json has exactly the fields its help names. coreclr.dll
/// with hot-patchability required has thousands of unpadded functions (PE2002: 13.3% of 13,002
/// entries padded), so PE2002 is capped at its max-results 100 plus one summary result.
/// </summary>
public sealed partial class TextReportTests : IDisposable
{
    private readonly ScanFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_file_with_many_results_shows_a_count_per_rule_and_lists_exactly_the_first_five()
    {
        var log = ScanRequired(out var run);

        var lines = run.Output.Split('\n');
        var header = Assert.Single(lines, l => l.Contains("PE2002 hotpatch-padding: 101 results", StringComparison.Ordinal));
        Assert.Contains("; the first 5 (the other 96: see the SARIF log):", header, StringComparison.Ordinal);
        var index = Array.IndexOf(lines, header);
        Assert.All(lines.Skip(index + 1).Take(5), l => Assert.StartsWith("    error   PE2002 ", l, StringComparison.Ordinal));
        Assert.DoesNotContain("PE2002", lines[index + 6], StringComparison.Ordinal);
        Assert.Equal(101, log.Runs[0].Results.Count(r => r.RuleId == "PE2002"));
    }

    [Fact]
    public void Lines_wrap_at_word_boundaries_to_the_terminal_width()
    {
        var log = ScanRequired(out _);
        using var writer = new StringWriter();

        ConsoleReport.Write(writer, log, new ScanSummary(1, 0, 0, 0), RuleCatalog.Embedded, new ConsoleStyle(Color: false, Width: 72), "out.sarif");

        var text = writer.ToString();
        var lines = text.Split('\n');
        Assert.All(lines, l => Assert.True(l.Length <= 72, $"{l.Length}: {l}"));
        var collapsed = Spaces().Replace(text, " ");
        foreach (var result in log.Runs[0].Results.Where(r => r.RuleId == "PE2001").Take(ConsoleReport.ShownPerRule))
        {
            Assert.Contains(Spaces().Replace(result.Message.Text!, " "), collapsed, StringComparison.Ordinal); // no word was cut
        }
    }

    [Fact]
    public void Json_format_has_exactly_the_fields_its_help_names()
    {
        _folder.CopySample("aslr-off.x64.exe", "bin/aslr-off.x64.exe");
        Directory.CreateDirectory(_folder.PathOf(".pelint"));
        File.WriteAllText(_folder.PathOf(".pelint/suppressions.json"), """{ "suppressions": [ { "rule": "PE1001", "files": "**", "justification": "test image" }, { "rule": "PE1009", "files": "**", "justification": "stale" } ] }""");
        var baseline = _folder.PathOf("baseline.sarif");
        CliRun.Of("scan", _folder.PathOf("bin"), "--source-root", _folder.Root, "-o", baseline);

        var run = CliRun.Of("scan", _folder.PathOf("bin"), "--source-root", _folder.Root, "--baseline", baseline, "--format", "json");
        var help = CliRun.Of("scan", "--help").Output;
        var format = Spaces().Replace(help[help.IndexOf("--format", StringComparison.Ordinal)..help.IndexOf("--fail-level <", StringComparison.Ordinal)], " ");

        var document = JsonDocument.Parse(run.Output).RootElement;
        Assert.Equal(["results", "notifications"], document.EnumerateObject().Select(p => p.Name));
        var resultKeys = document.GetProperty("results").EnumerateArray().SelectMany(r => r.EnumerateObject().Select(p => p.Name)).Distinct().ToList();
        Assert.Contains("suppressed", resultKeys);
        Assert.Contains("baselineState", resultKeys);
        var notificationKeys = document.GetProperty("notifications").EnumerateArray().SelectMany(r => r.EnumerateObject().Select(p => p.Name)).Distinct().ToList();
        Assert.NotEmpty(notificationKeys);
        Assert.All(resultKeys.Concat(notificationKeys), key => Assert.Matches($@"\b{key}\b", format));
    }

    private SarifLog ScanRequired(out CliRun run)
    {
        _folder.Copy("coreclr.dll", "drivers/coreclr.dll");
        File.WriteAllText(_folder.PathOf(".editorconfig"), "root = true\n\n[**]\npelint_hotpatch_required = true\n");
        var output = _folder.PathOf("out.sarif");
        run = CliRun.Of("scan", _folder.PathOf("drivers"), "--source-root", _folder.Root, "-o", output, "--fail-level", "none");
        return SarifFile.Read(output);
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
