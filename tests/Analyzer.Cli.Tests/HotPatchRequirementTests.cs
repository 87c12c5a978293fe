using System.Text.Json;
using Pelint.Reporting;

namespace Pelint.Cli.Tests;

/// <summary>
/// .editorconfig <c>pelint_hotpatch_required</c>: nohotpatch.x64.exe (samples/README.md: never
/// built hot-patchable, 4 functions, none padded, 3 starting with push rsi) is a note by default
/// and 7 errors where hot-patchability is required.
/// </summary>
public sealed class HotPatchRequirementTests : IDisposable
{
    private readonly ScanFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Required_hot_patchability_turns_the_note_into_an_error_per_function_and_fails_the_gate()
    {
        _folder.CopySample("nohotpatch.x64.exe", "drivers/nohotpatch.x64.exe");
        _folder.CopySample("nohotpatch.x64.exe", "tools/nohotpatch.x64.exe");
        File.WriteAllText(_folder.PathOf(".editorconfig"), "root = true\n\n[drivers/**]\npelint_hotpatch_required = true\n");

        var run = CliRun.Of("scan", _folder.Root, "--format", "json", "--source-root", _folder.Root);

        Assert.Equal(ExitCodes.ResultsAtFailLevel, run.ExitCode);
        var results = JsonDocument.Parse(run.Output).RootElement.GetProperty("results").EnumerateArray()
            .Where(r => r.GetProperty("ruleId").GetString() is "PE2001" or "PE2002").ToList();
        var drivers = results.Where(r => r.GetProperty("file").GetString()!.StartsWith("drivers/", StringComparison.Ordinal)).ToList();
        Assert.Equal(7, drivers.Count);
        Assert.All(drivers, r => Assert.Equal("error", r.GetProperty("level").GetString()));
        var tools = Assert.Single(results, r => r.GetProperty("file").GetString()!.StartsWith("tools/", StringComparison.Ordinal));
        Assert.Equal("note", tools.GetProperty("level").GetString());
    }

    [Fact]
    public void A_value_other_than_true_or_false_is_a_configuration_notification()
    {
        _folder.CopySample("nohotpatch.x64.exe", "bin/nohotpatch.x64.exe");
        File.WriteAllText(_folder.PathOf(".editorconfig"), "root = true\n\n[*.exe]\npelint_hotpatch_required = yes\n");

        var run = CliRun.Of("scan", _folder.Root, "--format", "json", "--fail-level", "error");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        var document = JsonDocument.Parse(run.Output).RootElement;
        Assert.Contains(document.GetProperty("notifications").EnumerateArray(), n =>
            n.GetProperty("id").GetString() == "PEL0100" && n.GetProperty("message").GetString()!.Contains("'yes' is not true or false for pelint_hotpatch_required", StringComparison.Ordinal));
        Assert.Equal("note", Assert.Single(document.GetProperty("results").EnumerateArray(), r => r.GetProperty("ruleId").GetString() == "PE2002").GetProperty("level").GetString());
    }

    [Theory]
    [InlineData("warning", "warning")]
    [InlineData("error", "error")]
    [InlineData("default", "note")]
    public void A_level_configured_for_the_rule_wins_over_the_note_and_default_leaves_it(string severity, string expected)
    {
        _folder.CopySample("nohotpatch.x64.exe", "bin/nohotpatch.x64.exe");
        File.WriteAllText(_folder.PathOf(".editorconfig"), $"root = true\n\n[*.exe]\ndotnet_diagnostic.PE2002.severity = {severity}\n");

        var run = CliRun.Of("scan", _folder.Root, "--format", "json", "--fail-level", "none");

        var result = Assert.Single(JsonDocument.Parse(run.Output).RootElement.GetProperty("results").EnumerateArray(), r => r.GetProperty("ruleId").GetString() == "PE2002");
        Assert.Equal(expected, result.GetProperty("level").GetString());
    }

    [Fact]
    public void Rules_for_a_path_says_when_hot_patchability_is_required()
    {
        File.WriteAllText(_folder.PathOf(".editorconfig"), "root = true\n\n[drivers/**]\npelint_hotpatch_required = true\n");

        Assert.Contains("hot-patchability required", CliRun.Of("rules", "--path", _folder.PathOf("drivers/a.sys")).Output, StringComparison.Ordinal);
        Assert.DoesNotContain("hot-patchability required", CliRun.Of("rules", "--path", _folder.PathOf("tools/a.exe")).Output, StringComparison.Ordinal);
    }
}
