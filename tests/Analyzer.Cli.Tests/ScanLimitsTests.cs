using System.Text.Json;
using Pelint.Testing;

namespace Pelint.Cli.Tests;

/// <summary>Limits and faults of a scan: oversize files, symlink loops, many files, vanished files.</summary>
public sealed class ScanLimitsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pelint-limits-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static JsonElement Run0(JsonDocument log) => log.RootElement.GetProperty("runs")[0];

    private static List<string> NotificationIds(JsonElement run) =>
        [.. run.GetProperty("invocations")[0].TryGetProperty("toolExecutionNotifications", out var n)
            ? n.EnumerateArray().Select(x => x.GetProperty("descriptor").GetProperty("id").GetString()!)
            : []];

    [Fact]
    public void File_over_max_file_size_is_reported_once_and_the_other_files_results_are_written()
    {
        var big = Path.Combine(_dir, "hostpolicy.dll");
        var small = Path.Combine(_dir, "createdump.exe");
        File.Copy(TestPaths.RuntimeDll("hostpolicy.dll"), big);
        File.Copy(TestPaths.RuntimeDll("createdump.exe"), small);
        var sarif = Path.Combine(_dir, "out.sarif");

        var (code, output, _) = CliRunner.Run("scan", _dir, "-o", sarif, "--max-file-size", "100000", "--source-root", _dir);

        Assert.Equal(3, code);
        using var log = JsonDocument.Parse(File.ReadAllText(sarif));
        var run = Run0(log);
        Assert.Equal(["PEL0001"], NotificationIds(run));
        Assert.Contains("over the limit", output, StringComparison.Ordinal);
        var artifacts = run.GetProperty("artifacts").EnumerateArray().Select(a => a.GetProperty("location").GetProperty("uri").GetString()).ToList();
        Assert.Equal(["createdump.exe"], artifacts);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    public void Non_positive_max_file_size_is_a_usage_error(string value)
    {
        var (code, _, _) = CliRunner.Run("scan", TestPaths.RuntimeDll("hostfxr.dll"), "--max-file-size", value);

        Assert.Equal(2, code);
    }

    [Fact]
    public void Negative_timeout_is_a_usage_error()
    {
        var (code, _, _) = CliRunner.Run("scan", TestPaths.RuntimeDll("hostfxr.dll"), "--timeout", "-1");

        Assert.Equal(2, code);
    }

    [Fact]
    public void Generous_timeout_leaves_a_normal_scan_without_a_time_budget_notification()
    {
        var sarif = Path.Combine(_dir, "out.sarif");

        var (code, _, _) = CliRunner.Run("scan", TestPaths.RuntimeDll("hostfxr.dll"), "-o", sarif, "--timeout", "600");

        Assert.Equal(0, code);
        using var log = JsonDocument.Parse(File.ReadAllText(sarif));
        Assert.DoesNotContain("PEL0004", NotificationIds(Run0(log)));
    }

    [Fact]
    public void Symlink_loop_in_a_recursive_scan_terminates_and_scans_each_file_once()
    {
        var sub = Directory.CreateDirectory(Path.Combine(_dir, "a")).FullName;
        File.Copy(TestPaths.RuntimeDll("createdump.exe"), Path.Combine(sub, "createdump.exe"));
        Directory.CreateSymbolicLink(Path.Combine(sub, "loop"), _dir);
        var sarif = Path.Combine(_dir, "out.sarif");

        var (code, _, _) = CliRunner.Run("scan", _dir, "-o", sarif, "--source-root", _dir);

        Assert.True(code is 0 or 1, $"exit {code}");
        using var log = JsonDocument.Parse(File.ReadAllText(sarif));
        Assert.Single(Run0(log).GetProperty("artifacts").EnumerateArray());
    }

    [Fact]
    public void Folder_of_ten_thousand_files_is_scanned_and_its_one_pe_image_reported()
    {
        var many = Directory.CreateDirectory(Path.Combine(_dir, "many")).FullName;
        for (var i = 0; i < 10_000; i++)
        {
            // Not PE images (some start with MZ to pass the first check): skipped quietly in a folder.
            File.WriteAllBytes(Path.Combine(many, $"f{i:D5}.bin"), i % 7 == 0 ? "MZ"u8.ToArray() : [(byte)i]);
        }

        File.Copy(TestPaths.RuntimeDll("createdump.exe"), Path.Combine(many, "createdump.exe"));
        var sarif = Path.Combine(_dir, "out.sarif");

        var (code, output, _) = CliRunner.Run("scan", many, "-o", sarif, "--source-root", many);

        Assert.True(code is 0 or 1, $"exit {code}: {output}");
        using var log = JsonDocument.Parse(File.ReadAllText(sarif));
        var run = Run0(log);
        Assert.Empty(NotificationIds(run));
        Assert.Equal("createdump.exe", run.GetProperty("artifacts")[0].GetProperty("location").GetProperty("uri").GetString());
    }

    [Fact]
    public void File_that_vanishes_between_enumeration_and_scan_is_reported_once_as_unreadable()
    {
        var kept = Path.Combine(_dir, "createdump.exe");
        var gone = Path.Combine(_dir, "hostfxr.dll");
        File.Copy(TestPaths.RuntimeDll("createdump.exe"), kept);
        File.Copy(TestPaths.RuntimeDll("hostfxr.dll"), gone);
        var inputs = Pelint.Engine.InputEnumerator.Enumerate([_dir]).Inputs;
        File.Delete(gone);

        var reports = new Pelint.Engine.Scanner(Pelint.Engine.RuleEngine.CreateDefault()).Scan(inputs, new Pelint.Engine.ScanOptions());

        var failed = Assert.Single(reports, r => r.Status == Pelint.Engine.FileStatus.Failed);
        var notification = Assert.Single(failed.Notifications);
        Assert.Equal("PEL0001", notification.Id);
        Assert.Contains("hostfxr.dll", notification.Message, StringComparison.Ordinal);
        Assert.Single(reports, r => r.Status == Pelint.Engine.FileStatus.Analyzed);
    }
}
