using System.Reflection.PortableExecutable;
using System.Text.Json;
using Pelint.Testing;

namespace Pelint.Cli.Tests;

public sealed class ScanExitCodeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pelint-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Clean_runtime_dll_exits_0_and_writes_a_sarif_log()
    {
        var sarif = Path.Combine(_dir, "out.sarif");

        var (code, output, _) = CliRunner.Run("scan", TestPaths.RuntimeDll("hostfxr.dll"), "-o", sarif);

        Assert.Equal(0, code);
        Assert.Contains("1 file scanned", output, StringComparison.Ordinal);
        using var log = JsonDocument.Parse(File.ReadAllText(sarif));
        Assert.Equal("2.1.0", log.RootElement.GetProperty("version").GetString());
    }

    [Fact]
    public void Copy_without_dynamic_base_exits_1_with_PE1001_at_error_level()
    {
        var copy = ImagePatch.FromFile(TestPaths.RuntimeDll("coreclr.dll"))
            .ClearDllCharacteristics(DllCharacteristics.DynamicBase).SaveTo(_dir, "coreclr.dll");
        var sarif = Path.Combine(_dir, "out.sarif");

        var (code, output, _) = CliRunner.Run("scan", copy, "-o", sarif, "--source-root", _dir);

        Assert.Equal(1, code);
        Assert.Contains("PE1001", output, StringComparison.Ordinal);
        using var log = JsonDocument.Parse(File.ReadAllText(sarif));
        var result = log.RootElement.GetProperty("runs")[0].GetProperty("results").EnumerateArray().Single(r => r.GetProperty("ruleId").GetString() == "PE1001");
        Assert.Equal("error", result.GetProperty("level").GetString());
        var artifact = result.GetProperty("locations")[0].GetProperty("physicalLocation").GetProperty("artifactLocation");
        Assert.Equal("coreclr.dll", artifact.GetProperty("uri").GetString());
        Assert.Equal("%SRCROOT%", artifact.GetProperty("uriBaseId").GetString());
    }

    [Fact]
    public void Fail_level_none_exits_0_even_with_errors()
    {
        var copy = ImagePatch.FromFile(TestPaths.RuntimeDll("coreclr.dll"))
            .ClearDllCharacteristics(DllCharacteristics.DynamicBase).SaveTo(_dir, "coreclr.dll");

        Assert.Equal(0, CliRunner.Run("scan", copy, "--fail-level", "none").ExitCode);
    }

    [Fact]
    public void Note_result_fails_the_gate_only_at_fail_level_note()
    {
        // A clean sample without its debug directory loses the CET compatibility entry: one PE1008 note.
        var exe = ImagePatch.FromFile(Path.Combine(TestPaths.SamplesBin, "hotpatch.x64.exe")).SetDirectory(6, 0, 0).SaveTo(_dir, "no-cet.exe");

        Assert.Equal(0, CliRunner.Run("scan", exe, "--fail-level", "warning").ExitCode);
        Assert.Equal(1, CliRunner.Run("scan", exe, "--fail-level", "note").ExitCode);
    }

    [Fact]
    public void Named_file_that_is_not_pe_exits_3_and_other_results_are_still_written()
    {
        var text = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(text, "not a PE image");
        var sarif = Path.Combine(_dir, "out.sarif");

        var (code, output, _) = CliRunner.Run("scan", text, TestPaths.RuntimeDll("createdump.exe"), "-o", sarif);

        Assert.Equal(3, code);
        Assert.Contains("not a PE image", output, StringComparison.Ordinal);
        var log = File.ReadAllText(sarif);
        Assert.Contains("PE1008", log, StringComparison.Ordinal);
        Assert.Contains("PEL0005", log, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_pe_file_inside_a_scanned_folder_is_skipped_quietly()
    {
        File.WriteAllText(Path.Combine(_dir, "readme.txt"), "text");
        File.Copy(TestPaths.RuntimeDll("hostfxr.dll"), Path.Combine(_dir, "hostfxr.dll"));

        var (code, output, _) = CliRunner.Run("scan", _dir);

        Assert.Equal(0, code);
        Assert.Contains("1 file scanned, 1 skipped", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_path_exits_3()
    {
        Assert.Equal(3, CliRunner.Run("scan", Path.Combine(_dir, "nope.dll")).ExitCode);
    }

    [Theory]
    [InlineData("scan")]
    [InlineData("scan", "x.dll", "--fail-level", "fatal")]
    [InlineData("scan", "x.dll", "--no-such-option")]
    [InlineData("frobnicate")]
    public void Usage_errors_exit_2(params string[] args)
    {
        var (code, _, error) = CliRunner.Run(args);

        Assert.Equal(2, code);
        Assert.Matches(@"^pelint: .*\(see 'pelint( \w+)? --help'\)$", Assert.Single(error.TrimEnd().Split('\n')));
    }

    [Fact]
    public void Explain_accepts_a_rule_name_and_prints_its_page()
    {
        var (code, output, _) = CliRunner.Run("explain", "dynamic-base");

        Assert.Equal(0, code);
        Assert.Contains("PE1001", output, StringComparison.Ordinal);
        Assert.Contains("## How to fix", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Rules_lists_every_rule()
    {
        var (code, output, _) = CliRunner.Run("rules");

        Assert.Equal(0, code);
        Assert.Contains("PE1010", output, StringComparison.Ordinal);
    }
}
