using System.Reflection.PortableExecutable;
using Pelint.Reporting;
using Pelint.Sarif;
using Pelint.Testing;

namespace Pelint.Cli.Tests;

public sealed class BaselineTests : IDisposable
{
    private readonly ScanFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Baseline_round_trip_marks_only_the_result_introduced_since_as_new_and_gates_on_it_alone()
    {
        _folder.Copy("Microsoft.DiaSymReader.Native.amd64.dll", "drop/diasym.dll"); // has a note (PE1008) in both scans
        var changed = _folder.Copy("hostfxr.dll", "drop/hostfxr.dll");
        var baseline = _folder.PathOf("baseline.sarif");
        var drop = _folder.PathOf("drop");

        var first = CliRun.Of("scan", drop, "--source-root", _folder.Root, "--fail-level", "note", "-o", baseline);
        Assert.Equal(ExitCodes.ResultsAtFailLevel, first.ExitCode); // the note fails a gate without baseline
        var before = SarifFile.Read(baseline).Runs[0].Results;
        Assert.NotEmpty(before);

        var unchanged = CliRun.Of("scan", drop, "--source-root", _folder.Root, "--fail-level", "note", "--baseline", baseline, "-o", _folder.PathOf("same.sarif"));
        Assert.Equal(ExitCodes.Success, unchanged.ExitCode);
        Assert.All(SarifFile.Read(_folder.PathOf("same.sarif")).Runs[0].Results, r => Assert.Equal("unchanged", r.BaselineState));

        File.WriteAllBytes(changed, ImagePatch.FromFile(changed).ClearDllCharacteristics(DllCharacteristics.NxCompatible).Bytes);
        var second = CliRun.Of("scan", drop, "--source-root", _folder.Root, "--fail-level", "note", "--baseline", baseline, "-o", _folder.PathOf("after.sarif"));
        var after = SarifFile.Read(_folder.PathOf("after.sarif")).Runs[0].Results;

        var added = Assert.Single(after, r => r.BaselineState == "new");
        Assert.Equal("PE1005", added.RuleId);
        Assert.EndsWith("drop/hostfxr.dll", added.Locations![0].PhysicalLocation!.ArtifactLocation!.Uri, StringComparison.Ordinal);
        Assert.Equal(before.Count, after.Count(r => r.BaselineState == "unchanged"));
        Assert.Equal(ExitCodes.ResultsAtFailLevel, second.ExitCode);

        // Without the modification only old results remain: the gate passes on new ones and fails on all of them.
        File.Copy(TestPaths.RuntimeDll("hostfxr.dll"), changed, overwrite: true);
        Assert.Equal(ExitCodes.Success, CliRun.Of("scan", drop, "--source-root", _folder.Root, "--fail-level", "note", "--baseline", baseline).ExitCode);
        Assert.Equal(ExitCodes.ResultsAtFailLevel, CliRun.Of("scan", drop, "--source-root", _folder.Root, "--fail-level", "note", "--baseline", baseline, "--fail-on-baseline-state", "all").ExitCode);
    }

    [Fact]
    public void Results_gone_since_the_baseline_are_carried_as_absent_and_never_fail_the_gate()
    {
        var noted = _folder.Copy("Microsoft.DiaSymReader.Native.amd64.dll", "drop/diasym.dll");
        var baseline = _folder.PathOf("baseline.sarif");
        CliRun.Of("scan", _folder.PathOf("drop"), "--source-root", _folder.Root, "-o", baseline);
        File.Delete(noted);

        // The drop is now empty: --allow-empty, or an empty scan fails on its own (exit 3).
        var run = CliRun.Of("scan", _folder.PathOf("drop"), "--source-root", _folder.Root, "--fail-level", "note", "--fail-on-baseline-state", "all",
            "--baseline", baseline, "-o", _folder.PathOf("after.sarif"), "--allow-empty");

        var results = SarifFile.Read(_folder.PathOf("after.sarif")).Runs[0].Results;
        Assert.NotEmpty(results);
        Assert.All(results, r => Assert.Equal("absent", r.BaselineState));
        Assert.Equal(ExitCodes.Success, run.ExitCode);
    }
}
