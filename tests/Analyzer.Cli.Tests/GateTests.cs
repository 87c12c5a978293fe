using System.Diagnostics;
using System.Text.Json.Nodes;
using Pelint.Cli.Commands;
using Pelint.Reporting;
using Pelint.Sarif;
using Pelint.Testing;

namespace Pelint.Cli.Tests;

/// <summary>
/// The gate tells the truth: option values that do not parse are usage errors, named files that
/// cannot be used too, an incomplete or empty scan does not pass, the exit code is decided before
/// any cap, hostile baselines and merge inputs never crash, only regular files are read, and the
/// console shows what the SARIF log holds, with control characters escaped.
/// </summary>
public sealed class GateTests : IDisposable
{
    private readonly ScanFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    // aslr-off.x64.exe: PE1001 (error) and PE1004 (warning), see samples/bin/aslr-off.x64.exe.expected.
    private string ErrorSample(string relative = "err.exe") => _folder.CopySample("aslr-off.x64.exe", relative);

    [Theory]
    [InlineData("--timeout", "abc")]
    [InlineData("--timeout", "NaN")]
    [InlineData("--timeout", "-1")]
    [InlineData("--max-file-size", "1.5")]
    [InlineData("--max-file-size", "12parsecs")]
    [InlineData("--max-file-size", "0")]
    [InlineData("--threads", "0")]
    [InlineData("--threads", "many")]
    [InlineData("--max-results", "0")]
    [InlineData("--max-results", "-1")]
    [InlineData("--max-results", "1e3")]
    public void Option_value_that_does_not_parse_or_make_sense_is_a_one_line_usage_error(string option, string value)
    {
        var run = CliRun.Of("scan", ErrorSample(), option, value);

        Assert.Equal(ExitCodes.UsageError, run.ExitCode);
        var line = Assert.Single(run.Error.TrimEnd().Split('\n'));
        Assert.StartsWith("pelint: " + option, line, StringComparison.Ordinal);
        Assert.Equal(string.Empty, run.Output);
    }

    [Theory]
    [InlineData("1048576", 1_048_576)]
    [InlineData("1MB", 1_000_000)]
    [InlineData("1e6", 1_000_000)]
    [InlineData("64MiB", 64L << 20)]
    [InlineData("2 GiB", 2L << 30)]
    [InlineData("512k", 512_000)]
    public void Sizes_are_accepted_as_users_type_them(string text, long bytes)
    {
        Assert.True(OptionValues.TryParseByteSize(text, out var parsed));
        Assert.Equal(bytes, parsed);
        Assert.NotEqual(ExitCodes.UsageError, CliRun.Of("scan", ErrorSample(), "--max-file-size", text).ExitCode);
    }

    [Theory]
    [InlineData("500ms", 0.5)]
    [InlineData("2m", 120)]
    [InlineData("2.5", 2.5)]
    public void Durations_are_accepted_with_a_unit(string text, double seconds)
    {
        Assert.True(OptionValues.TryParseSeconds(text, out var parsed));
        Assert.Equal(seconds, parsed);
    }

    [Fact]
    public void Every_option_of_every_command_given_garbage_exits_2_without_an_exception()
    {
        foreach (var command in PelintCli.BuildRoot().Subcommands.SelectMany(c => c.Subcommands.Prepend(c)))
        {
            foreach (var option in command.Options.Where(o => o.Name.StartsWith("--", StringComparison.Ordinal) && o.Name is not ("--help" or "--version" or "--output")))
            {
                var path = command.Parents.OfType<System.CommandLine.Command>().Where(p => p.Parents.Any()).Select(p => p.Name).Append(command.Name).ToList();
                var run = CliRun.Of([.. path, ErrorSample(), option.Name, "\u001b]0;garbage\u0007"]);
                Assert.DoesNotContain("Exception", run.Error, StringComparison.Ordinal);
                Assert.DoesNotContain('\u001b', run.Error);
            }
        }
    }

    [Fact]
    public void Missing_config_or_baseline_is_a_usage_error()
    {
        Assert.Equal(ExitCodes.UsageError, CliRun.Of("scan", ErrorSample(), "--config", _folder.PathOf("missing.cfg")).ExitCode);
        Assert.Equal(ExitCodes.UsageError, CliRun.Of("scan", ErrorSample(), "--baseline", _folder.PathOf("missing.sarif")).ExitCode);
        Assert.Equal(ExitCodes.UsageError, CliRun.Of("rules", "--config", _folder.PathOf("missing.cfg")).ExitCode);
    }

    [Fact]
    public void Time_budget_that_runs_out_fails_the_gate_with_3_and_says_the_file_is_incomplete()
    {
        var run = CliRun.Of("scan", TestPaths.RuntimeDll("coreclr.dll"), "--timeout", "1ms", "--fail-level", "none");

        Assert.Equal(ExitCodes.InputNotAnalyzed, run.ExitCode);
        Assert.Contains("PEL0004", run.Output, StringComparison.Ordinal);
        Assert.Contains("1 incomplete", run.Output.TrimEnd().Split('\n')[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void Scan_that_finds_no_pe_image_fails_unless_allow_empty()
    {
        File.WriteAllText(_folder.PathOf("empty/readme.txt").EnsureFolder(), "not a PE image");

        var strict = CliRun.Of("scan", _folder.PathOf("empty"));
        var allowed = CliRun.Of("scan", _folder.PathOf("empty"), "--allow-empty");

        Assert.Equal(ExitCodes.InputNotAnalyzed, strict.ExitCode);
        Assert.Contains("PEL0007", strict.Output, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Success, allowed.ExitCode);
    }

    [Fact]
    public void Exit_code_counts_results_the_cap_dropped()
    {
        // The baseline knows the error (unchanged) but not the warning (new). With one result
        // allowed, the cap keeps the error; the gate must still fail on the new warning.
        var sample = ErrorSample("drop/err.exe");
        var baseline = _folder.PathOf("baseline.sarif");
        CliRun.Of("scan", sample, "--source-root", _folder.Root, "--fail-level", "none", "-o", baseline);
        var log = JsonNode.Parse(File.ReadAllText(baseline))!;
        var results = log["runs"]![0]!["results"]!.AsArray();
        results.Remove(results.Single(r => r!["ruleId"]!.GetValue<string>() == "PE1004"));
        File.WriteAllText(baseline, log.ToJsonString());

        var run = CliRun.Of("scan", sample, "--source-root", _folder.Root, "--baseline", baseline, "--fail-level", "warning", "--max-results", "1", "-o", _folder.PathOf("out.sarif"));

        Assert.Equal(ExitCodes.ResultsAtFailLevel, run.ExitCode);
        var kept = Assert.Single(SarifFile.Read(_folder.PathOf("out.sarif")).Runs[0].Results);
        Assert.Equal("PE1001", kept.RuleId);
        Assert.Contains("PEL0006", run.Output, StringComparison.Ordinal); // the console shows the cap too
    }

    [Fact]
    public void Console_json_and_sarif_show_the_same_capped_results()
    {
        var sample = ErrorSample();
        var sarif = _folder.PathOf("out.sarif");

        var text = CliRun.Of("scan", sample, "--max-results", "1", "-o", sarif);
        var json = JsonNode.Parse(CliRun.Of("scan", sample, "--max-results", "1", "--format", "json").Output)!;

        Assert.Single(SarifFile.Read(sarif).Runs[0].Results);
        Assert.Single(json["results"]!.AsArray());
        Assert.Contains(json["notifications"]!.AsArray(), n => n!["id"]!.GetValue<string>() == "PEL0006");
        Assert.Contains("PE1001", text.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("PE1004 ", text.Output, StringComparison.Ordinal);
        Assert.EndsWith("1 error, 0 warnings, 0 notes.", text.Output.TrimEnd(), StringComparison.Ordinal);
    }

    public static TheoryData<string> HostileBaselines() =>
    [
        """{"version":"2.1.0","runs":null}""",
        """{"version":"2.1.0"}""",
        """{"runs":[null]}""",
        """{"runs":[{"tool":{"driver":{"name":"x"}},"results":null}]}""",
        """{"runs":[{"tool":{"driver":{"name":"x"}}}]}""",
        """{"runs":[{"tool":{"driver":{"name":"x"}},"results":[null, 5, "x", {"ruleId":null}]}]}""",
        """{"runs":[{"results":[{"ruleId":"PE1001","message":{"text":"m"},"locations":null}]}]}""",
        """{"runs":[{"results":[{"ruleId":"PE1001","message":{"text":"m"},"locations":[null,{"physicalLocation":null}]}]}]}""",
        """{"runs":[{"results":[{"ruleId":"PE1001","message":null}]}]}""",
        """{"runs":[{"results":[{"ruleId":"PE1001","message":{"text":"m"},"partialFingerprints":null}],"invocations":[null,{"toolExecutionNotifications":[{"message":null}]}]}]}""",
        """[1,2,3]""",
        """{"runs":[{"results":[{"ruleId":"PE1001","message":{"text":"cut""",
        "",
    ];

    [Theory]
    [MemberData(nameof(HostileBaselines))]
    public void Hostile_or_partial_baseline_never_crashes_the_scan_and_every_result_it_cannot_match_counts_as_new(string content)
    {
        var baseline = _folder.PathOf("hostile.sarif");
        File.WriteAllText(baseline, content);
        var sarif = _folder.PathOf("out.sarif");

        var run = CliRun.Of("scan", ErrorSample(), "--baseline", baseline, "-o", sarif);

        Assert.Equal(ExitCodes.ResultsAtFailLevel, run.ExitCode);
        Assert.DoesNotContain("Exception", run.Error + run.Output, StringComparison.Ordinal);
        // Baseline results that still read are carried as absent; nothing of this scan matches them.
        Assert.All(SarifFile.Read(sarif).Runs[0].Results.Where(r => r.BaselineState != "absent"), r => Assert.Equal("new", r.BaselineState));
        Assert.Equal(2, SarifFile.Read(sarif).Runs[0].Results.Count(r => r.BaselineState == "new"));
    }

    [Fact]
    public void Baseline_with_an_escaped_name_that_is_not_utf8_is_a_notification_not_a_crash()
    {
        // Found by AFL++ (target config, 63,155 executions): "\"" then 0xFF inside a property name
        // made the reader's GetString throw InvalidOperationException.
        var baseline = _folder.PathOf("afl.sarif");
        File.WriteAllBytes(baseline, Convert.FromHexString(
            "7B2272756EFFFF3A5B5C22223A7B2265227D227D040000724964223A22684131303631222C22223A7B2274FF3A5B5C22223A7B2265227D227D" +
            "040000724964223A2268677874223A226D227D75"));

        var run = CliRun.Of("scan", ErrorSample(), "--baseline", baseline);

        Assert.Equal(ExitCodes.ResultsAtFailLevel, run.ExitCode);
        Assert.Contains("PEL0100", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(HostileBaselines))]
    public void Hostile_or_partial_merge_input_never_crashes_merge(string content)
    {
        var good = _folder.PathOf("good.sarif");
        CliRun.Of("scan", ErrorSample(), "--fail-level", "none", "-o", good);
        var bad = _folder.PathOf("bad.sarif");
        File.WriteAllText(bad, content);

        var run = CliRun.Of("merge", bad, good, "-o", _folder.PathOf("merged.sarif"));

        Assert.True(run.ExitCode is ExitCodes.Success or ExitCodes.InputNotAnalyzed, $"exit {run.ExitCode}: {run.Error}");
        Assert.DoesNotContain("Exception", run.Error, StringComparison.Ordinal);
        Assert.Equal(2, SarifFile.Read(_folder.PathOf("merged.sarif")).Runs[0].Results.Count);
    }

    [Fact]
    public void Absent_results_of_a_large_baseline_respect_max_results()
    {
        var sample = ErrorSample();
        var baseline = _folder.PathOf("baseline.sarif");
        CliRun.Of("scan", sample, "--fail-level", "none", "-o", baseline);
        var log = JsonNode.Parse(File.ReadAllText(baseline))!;
        var results = log["runs"]![0]!["results"]!.AsArray();
        var template = results[0]!.ToJsonString();
        for (var i = 0; i < 500; i++)
        {
            var copy = JsonNode.Parse(template)!;
            copy["partialFingerprints"]!["pelint/v1"] = $"gone{i:D4}";
            results.Add(copy);
        }

        File.WriteAllText(baseline, log.ToJsonString());
        var sarif = _folder.PathOf("out.sarif");

        CliRun.Of("scan", sample, "--baseline", baseline, "--max-results", "10", "-o", sarif);

        var run = SarifFile.Read(sarif).Runs[0];
        Assert.Equal(10, run.Results.Count);
        Assert.Equal(8, run.Results.Count(r => r.BaselineState == "absent"));
        var capped = Assert.Single(run.Invocations![0].ToolExecutionNotifications!, n => n.Descriptor?.Id == "PEL0006");
        Assert.Contains("502 results", capped.Message.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Fifo_in_a_folder_is_skipped_and_a_named_fifo_is_reported_without_hanging()
    {
        ErrorSample("tree/a.exe");
        var fifo = _folder.PathOf("tree/b.dll");
        MakeFifo(fifo);

        var watch = Stopwatch.StartNew();
        var folder = CliRun.Of("scan", _folder.PathOf("tree"), "--fail-level", "none");
        var named = CliRun.Of("scan", fifo);

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30));
        Assert.Equal(ExitCodes.Success, folder.ExitCode);
        Assert.StartsWith("1 file scanned, 0 skipped", folder.Output.TrimEnd().Split('\n')[^1], StringComparison.Ordinal);
        Assert.Equal(ExitCodes.InputNotAnalyzed, named.ExitCode);
        Assert.Contains("FIFO", named.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Output_through_a_symlink_writes_its_target_and_a_fifo_target_is_refused()
    {
        var target = _folder.PathOf("real.sarif");
        File.WriteAllText(target, "old");
        var link = _folder.PathOf("link.sarif");
        File.CreateSymbolicLink(link, target);
        var fifo = _folder.PathOf("pipe.sarif");
        MakeFifo(fifo);

        var linked = CliRun.Of("scan", ErrorSample(), "--fail-level", "none", "-o", link);
        var refused = CliRun.Of("scan", ErrorSample(), "--fail-level", "none", "-o", fifo);

        Assert.Equal(ExitCodes.Success, linked.ExitCode);
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.Equal(2, SarifFile.Read(target).Runs[0].Results.Count);
        Assert.Equal(ExitCodes.UsageError, refused.ExitCode);
        Assert.Contains("FIFO", refused.Error, StringComparison.Ordinal);
        Assert.Equal(Pelint.Pe.IO.FileKind.Fifo, Pelint.Pe.IO.HostFiles.KindOf(fifo)); // not replaced by a regular file
    }

    [Fact]
    public void Report_is_printed_when_the_output_cannot_be_written()
    {
        var run = CliRun.Of("scan", ErrorSample(), "-o", "/proc/pelint-no-such-dir/out.sarif");

        Assert.Equal(ExitCodes.InputNotAnalyzed, run.ExitCode);
        Assert.Contains("cannot write", run.Error, StringComparison.Ordinal);
        Assert.EndsWith("1 error, 1 warning, 0 notes.", run.Output.TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public void Cancelled_write_leaves_no_temporary_file()
    {
        var log = SarifBuilder.Build(Pelint.Rules.RuleCatalog.Embedded, [], new SarifRunOptions { SourceRoot = _folder.Root });
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => SarifFile.Write(log, _folder.PathOf("out.sarif"), cancelled.Token));

        Assert.Empty(Directory.GetFiles(_folder.Root, "*.tmp", SearchOption.AllDirectories));
        Assert.False(File.Exists(_folder.PathOf("out.sarif")));
    }

    [Fact]
    public void Control_characters_in_a_file_name_cannot_forge_a_console_line()
    {
        ErrorSample("nl/x.exe\nerror   PE9999 fake.dll\u001b[2J");

        var run = CliRun.Of("scan", _folder.PathOf("nl"));

        Assert.DoesNotContain(run.Output.Split('\n'), l => l.StartsWith("error   PE9999", StringComparison.Ordinal));
        Assert.DoesNotContain('\u001b', run.Output);
        Assert.Contains("x.exe\\nerror   PE9999 fake.dll\\x1B[2J", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void File_name_that_is_not_utf8_is_scanned()
    {
        Directory.CreateDirectory(_folder.PathOf("u8"));
        var sample = ErrorSample();
        using (var copy = Process.Start(new ProcessStartInfo("sh", ["-c", "cp \"$0\" \"$1/$(printf 'bad\\377.exe')\"", sample, _folder.PathOf("u8")]))!)
        {
            copy.WaitForExit();
        }

        var run = CliRun.Of("scan", _folder.PathOf("u8"), "--fail-level", "none");

        // .NET cannot delete what it cannot name: remove it before the folder goes.
        using (var remove = Process.Start("rm", ["-rf", _folder.PathOf("u8")])!)
        {
            remove.WaitForExit();
        }

        Assert.StartsWith("1 file scanned, 0 skipped (not PE), 0 failed", run.Output.TrimEnd().Split('\n')[^1], StringComparison.Ordinal);
        Assert.Contains("bad\\xFF.exe", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Dump_unwind_of_a_folder_says_it_is_a_folder()
    {
        var run = CliRun.Of("dump", "unwind", _folder.Root);

        Assert.Equal(ExitCodes.UsageError, run.ExitCode);
        Assert.Contains("is a folder", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Broken_editorconfig_is_a_configuration_notification_and_its_keys_do_not_leak()
    {
        ErrorSample("ec/a.exe");
        File.WriteAllText(_folder.PathOf("ec/.editorconfig"), "root = true\n[*.exe\ndotnet_diagnostic.PE1001.severity = none\n");
        ErrorSample("eb/a.exe");
        File.WriteAllBytes(_folder.PathOf("eb/.editorconfig"), [.. "root = true\n\0\u0001\u0002garbage"u8]);

        var unclosed = CliRun.Of("scan", _folder.PathOf("ec"));
        var binary = CliRun.Of("scan", _folder.PathOf("eb"));

        Assert.Contains("PEL0100", unclosed.Output, StringComparison.Ordinal);
        Assert.Contains("not closed", unclosed.Output, StringComparison.Ordinal);
        Assert.Contains("PE1001", unclosed.Output, StringComparison.Ordinal); // the key under the broken header was not applied
        Assert.Contains("PEL0100", binary.Output, StringComparison.Ordinal);
    }

    private static void MakeFifo(string path)
    {
        using var mkfifo = Process.Start("mkfifo", [path])!;
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }
}

internal static class PathExtensions
{
    /// <summary>Creates the folder of a file path and returns the path.</summary>
    public static string EnsureFolder(this string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }
}
