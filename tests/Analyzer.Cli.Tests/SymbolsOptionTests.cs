using System.Text.Json;
using Pelint.Reporting;

namespace Pelint.Cli.Tests;

/// <summary>
/// --symbols DIR: hotpatch-one.x64.exe's one PE2002 result is at unpadded_helper (0x1130), which
/// is not exported; only hotpatch-one.x64.pdb names it (samples/bin/hotpatch-one.x64.exe.expected).
/// </summary>
public sealed class SymbolsOptionTests : IDisposable
{
    private readonly ScanFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_pdb_under_symbols_names_the_function_and_without_it_the_function_is_sub_rva()
    {
        _folder.CopySample("hotpatch-one.x64.exe", "drop/hotpatch-one.x64.exe");
        _folder.CopySample("hotpatch-one.x64.pdb", "symbols/hotpatch-one.x64.pdb");

        Assert.Equal("sub_1130", FunctionOfPe2002(CliRun.Of("scan", _folder.PathOf("drop"), "--format", "json")));
        Assert.Equal("unpadded_helper", FunctionOfPe2002(CliRun.Of("scan", _folder.PathOf("drop"), "--format", "json", "--symbols", _folder.PathOf("symbols"))));
    }

    [Fact]
    public void A_symbols_path_that_is_not_a_folder_is_a_usage_error()
    {
        _folder.CopySample("hotpatch-one.x64.exe", "drop/hotpatch-one.x64.exe");

        var run = CliRun.Of("scan", _folder.PathOf("drop"), "--symbols", _folder.PathOf("missing"));

        Assert.Equal(ExitCodes.UsageError, run.ExitCode);
        Assert.Contains("--symbols", run.Error, StringComparison.Ordinal);
    }

    private static string? FunctionOfPe2002(CliRun run) =>
        JsonDocument.Parse(run.Output).RootElement.GetProperty("results").EnumerateArray()
            .Single(r => r.GetProperty("ruleId").GetString() == "PE2002").GetProperty("function").GetString();
}
