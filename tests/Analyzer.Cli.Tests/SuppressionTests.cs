using System.Text.Json;
using Pelint.Reporting;
using Pelint.Sarif;

namespace Pelint.Cli.Tests;

/// <summary>
/// Committed suppressions: aslr-off.x64.exe has PE1001 (error) and PE1004 (warning), see
/// samples/bin/aslr-off.x64.exe.expected; a suppression keeps the result in the log with its
/// justification and takes it out of the gate, and an entry that matches nothing is reported.
/// </summary>
public sealed class SuppressionTests : IDisposable
{
    private readonly ScanFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Round_trip_a_suppressed_result_stays_with_its_justification_the_gate_passes_and_a_stale_entry_is_reported()
    {
        _folder.CopySample("aslr-off.x64.exe", "bin/aslr-off.x64.exe");
        Assert.Equal(ExitCodes.ResultsAtFailLevel, Scan().ExitCode); // PE1001 is an error

        WriteSuppressions("""
            {
              "suppressions": [
                {
                  "rule": "PE1001",
                  "files": "bin/aslr-off.x64.exe",
                  "justification": "a fixed-base test image, never shipped"
                },
                { "rule": "nx-compat", "files": "bin/*.exe", "justification": "kept after NX was fixed" }
              ]
            }
            """);
        var run = Scan();
        Assert.Equal(ExitCodes.Success, run.ExitCode);

        var log = SarifFile.Read(_folder.PathOf("out.sarif")).Runs[0];
        var suppressed = Assert.Single(log.Results, r => r.RuleId == "PE1001");
        var suppression = Assert.Single(suppressed.Suppressions!);
        Assert.Equal("external", suppression.Kind);
        Assert.Equal("accepted", suppression.Status);
        Assert.Equal("a fixed-base test image, never shipped", suppression.Justification);
        Assert.Equal(".pelint/suppressions.json", suppression.Location!.PhysicalLocation!.ArtifactLocation!.Uri);
        Assert.Equal(3, suppression.Location.PhysicalLocation.Region!.StartLine);
        Assert.Equal("error", suppressed.Level); // the level is kept: it is the suppression that says "not acted on"
        Assert.Null(Assert.Single(log.Results, r => r.RuleId == "PE1004").Suppressions);

        var stale = Assert.Single(log.Invocations![0].ToolConfigurationNotifications!, n => n.Descriptor!.Id == "PEL0101");
        Assert.Contains("suppressions.json(8): stale suppression: no PE1005 result in 'bin/*.exe'", stale.Message.Text, StringComparison.Ordinal);
        Assert.Equal(8, stale.Locations![0].PhysicalLocation!.Region!.StartLine);
        Assert.Equal(".pelint/suppressions.json", stale.Locations[0].PhysicalLocation!.ArtifactLocation!.Uri);

        Assert.Contains("(suppressed: a fixed-base test image, never shipped)", run.Output, StringComparison.Ordinal);
        Assert.Contains("(1 suppressed, not counted)", run.Output, StringComparison.Ordinal);
        Assert.Contains("PEL0101", run.Output, StringComparison.Ordinal);

        // Only the gate changes: at --fail-level warning the unsuppressed PE1004 still fails it.
        Assert.Equal(ExitCodes.ResultsAtFailLevel, Scan("--fail-level", "warning").ExitCode);
    }

    [Fact]
    public void Function_and_fingerprint_narrow_a_suppression()
    {
        _folder.CopySample("aslr-off.x64.exe", "bin/aslr-off.x64.exe");
        var json = JsonDocument.Parse(Scan("--format", "json").Output);
        var fingerprint = json.RootElement.GetProperty("results").EnumerateArray()
            .Single(r => r.GetProperty("ruleId").GetString() == "PE1001").GetProperty("fingerprint").GetString();

        WriteSuppressions($$"""
            { "suppressions": [
              { "rule": "PE1001", "files": "**", "fingerprint": "{{fingerprint}}", "justification": "this alert only" },
              { "rule": "PE1004", "files": "**", "fingerprint": "0000000000000000", "justification": "another alert" },
              { "rule": "PE1004", "files": "**", "function": "mainCRTStartup", "justification": "image-wide results name no function" }
            ] }
            """);
        var run = Scan("--format", "json");
        var results = JsonDocument.Parse(run.Output).RootElement.GetProperty("results").EnumerateArray().ToList();
        var pe1001 = results.Single(r => r.GetProperty("ruleId").GetString() == "PE1001");
        Assert.True(pe1001.GetProperty("suppressed").GetBoolean());
        Assert.Equal("this alert only", pe1001.GetProperty("justification").GetString());
        Assert.False(results.Single(r => r.GetProperty("ruleId").GetString() == "PE1004").TryGetProperty("suppressed", out _));
        var stale = JsonDocument.Parse(run.Output).RootElement.GetProperty("notifications").EnumerateArray().Where(n => n.GetProperty("id").GetString() == "PEL0101").ToList();
        Assert.Equal(2, stale.Count);
        Assert.Equal(ExitCodes.Success, run.ExitCode);
    }

    [Fact]
    public void An_explicit_file_applies_anywhere_and_entries_for_files_not_scanned_are_not_judged()
    {
        _folder.CopySample("aslr-off.x64.exe", "drop/aslr-off.x64.exe");
        var file = _folder.PathOf("elsewhere/ours.json");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, """
            { "suppressions": [
              { "rule": "dynamic-base", "files": "aslr-off.x64.exe", "justification": "matched by file name" },
              { "rule": "PE1009", "files": "sub/never-scanned.dll", "justification": "not in this scan" }
            ] }
            """);
        var run = CliRun.Of("scan", _folder.PathOf("drop"), "--source-root", _folder.Root, "--suppressions", file, "-o", _folder.PathOf("out.sarif"));
        Assert.Equal(ExitCodes.Success, run.ExitCode);
        var log = SarifFile.Read(_folder.PathOf("out.sarif")).Runs[0];
        Assert.True(Assert.Single(log.Results, r => r.RuleId == "PE1001").IsSuppressed);
        Assert.DoesNotContain(log.Invocations![0].ToolConfigurationNotifications ?? [], n => n.Descriptor!.Id == "PEL0101");
    }

    [Fact]
    public void A_missing_suppressions_file_is_a_usage_error()
    {
        _folder.CopySample("aslr-off.x64.exe", "bin/aslr-off.x64.exe");
        var run = CliRun.Of("scan", _folder.PathOf("bin"), "--suppressions", _folder.PathOf("nope.json"));
        Assert.Equal(ExitCodes.UsageError, run.ExitCode);
        Assert.Contains("--suppressions", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ \"suppressions\": [ { \"rule\": \"PE1001\", \"files\": \"**\", ", "not valid JSON")]
    [InlineData("[]", "one JSON object")]
    [InlineData("{ \"suppressions\": {} }", "must be an array")]
    [InlineData("{ \"other\": 1 }", "no \\\"suppressions\\\" array")]
    [InlineData("{ \"suppressions\": [ { \"rule\": \"PE1001\", \"files\": \"**\" } ] }", "no \\\"justification\\\"")]
    [InlineData("{ \"suppressions\": [ { \"rule\": \"PE1001\", \"files\": \"**\", \"justification\": \"   \" } ] }", "no \\\"justification\\\"")]
    [InlineData("{ \"suppressions\": [ { \"rule\": \"PE1001\", \"files\": 7, \"justification\": \"x\" } ] }", "\\\"files\\\" is not a string")]
    [InlineData("{ \"suppressions\": [ { \"rule\": \"PE0000\", \"files\": \"**\", \"justification\": \"x\" } ] }", "no pelint rule")]
    [InlineData("{ \"suppressions\": [ 1 ] }", "must be an object")]
    [InlineData("{ \"suppressions\": [ [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ ] }", "not valid JSON")]
    [InlineData("\u0000\u0001\u00ff garbage", "not valid JSON")]
    [InlineData("{ \"suppressions\": [ { \"rule\": \"PE1001\", \"files\": \"**\", \"justification\": \"\\ud800\" } ] }", "unpaired UTF-16 surrogate")]
    public void A_broken_suppressions_file_is_a_configuration_notification_and_suppresses_nothing(string text, string expected)
    {
        _folder.CopySample("aslr-off.x64.exe", "bin/aslr-off.x64.exe");
        WriteSuppressions(text);
        var run = Scan("--format", "json");
        Assert.Equal(ExitCodes.ResultsAtFailLevel, run.ExitCode); // PE1001 still counts
        var document = JsonDocument.Parse(run.Output).RootElement;
        Assert.DoesNotContain(document.GetProperty("results").EnumerateArray(), r => r.TryGetProperty("suppressed", out _));
        var notices = document.GetProperty("notifications").EnumerateArray().Where(n => n.GetProperty("id").GetString() == "PEL0100").ToList();
        var wanted = JsonSerializer.Deserialize<string>($"\"{expected}\"")!;
        Assert.Contains(notices, n => n.GetProperty("message").GetString()!.Contains(wanted, StringComparison.Ordinal));
    }

    [Fact]
    public void A_suppressions_file_over_one_megabyte_is_not_read()
    {
        _folder.CopySample("aslr-off.x64.exe", "bin/aslr-off.x64.exe");
        WriteSuppressions("{ \"suppressions\": [] }" + new string(' ', (1 << 20) + 1));
        var run = Scan("--format", "json");
        Assert.Contains("larger than 1,048,576 bytes", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Suppressions_survive_a_baseline_and_a_merge()
    {
        _folder.CopySample("aslr-off.x64.exe", "bin/aslr-off.x64.exe");
        WriteSuppressions("""{ "suppressions": [ { "rule": "PE1001", "files": "**", "justification": "test image" } ] }""");
        Assert.Equal(ExitCodes.Success, Scan().ExitCode);
        var baseline = _folder.PathOf("baseline.sarif");
        File.Move(_folder.PathOf("out.sarif"), baseline);

        Assert.Equal(ExitCodes.Success, Scan("--baseline", baseline, "--fail-on-baseline-state", "all").ExitCode);
        Assert.True(Assert.Single(SarifFile.Read(_folder.PathOf("out.sarif")).Runs[0].Results, r => r.RuleId == "PE1001").IsSuppressed);

        var merged = _folder.PathOf("merged.sarif");
        Assert.Equal(0, CliRun.Of("merge", baseline, "-o", merged).ExitCode);
        var result = Assert.Single(SarifFile.Read(merged).Runs[0].Results, r => r.RuleId == "PE1001");
        Assert.Equal("test image", Assert.Single(result.Suppressions!).Justification);
    }

    [Fact]
    public void The_result_cap_drops_suppressed_results_before_live_ones()
    {
        _folder.CopySample("aslr-off.x64.exe", "bin/aslr-off.x64.exe");
        WriteSuppressions("""{ "suppressions": [ { "rule": "PE1001", "files": "**", "justification": "test image" } ] }""");
        Scan("--max-results", "1");
        var kept = Assert.Single(SarifFile.Read(_folder.PathOf("out.sarif")).Runs[0].Results);
        Assert.Equal("PE1004", kept.RuleId); // a warning, kept over the suppressed error
    }

    private CliRun Scan(params string[] extra) =>
        CliRun.Of(["scan", _folder.PathOf("bin"), "--source-root", _folder.Root, "-o", _folder.PathOf("out.sarif"), .. extra]);

    private void WriteSuppressions(string text)
    {
        var path = _folder.PathOf(".pelint/suppressions.json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }
}
