using Pelint.Engine;
using Pelint.Rules;
using Pelint.Sarif;

namespace Pelint.Cli.Tests;

public sealed class ShardMergeTests : IDisposable
{
    private static readonly string[] Dlls =
        ["Microsoft.DiaSymReader.Native.amd64.dll", "hostfxr.dll", "hostpolicy.dll", "clretwrc.dll", "mscorrc.dll", "createdump.exe", "msquic.dll"];

    private readonly ScanFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Shards_cover_every_input_exactly_once_whatever_the_input_order()
    {
        var inputs = Enumerable.Range(0, 200).Select(i => new ScanInput(Path.Combine(_folder.Root, $"d{i % 7}", $"f{i}.dll"), false)).ToList();
        var reversed = inputs.AsEnumerable().Reverse().ToList();

        var shards = Enumerable.Range(1, 3).Select(k => new Shard(k, 3).Select(inputs, _folder.Root)).ToList();
        var union = shards.SelectMany(s => s).Select(i => i.Path).ToList();

        Assert.Equal(inputs.Select(i => i.Path).Order(StringComparer.Ordinal), union.Order(StringComparer.Ordinal));
        Assert.All(shards, s => Assert.NotEmpty(s));
        for (var k = 1; k <= 3; k++)
        {
            Assert.Equal(
                shards[k - 1].Select(i => i.Path).Order(StringComparer.Ordinal),
                new Shard(k, 3).Select(reversed, _folder.Root).Select(i => i.Path).Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public void Merging_three_shard_logs_gives_the_results_of_one_unsharded_scan()
    {
        for (var i = 0; i < Dlls.Length; i++)
        {
            _folder.Copy(Dlls[i], $"drop/{(i % 2 == 0 ? "a" : "b")}/{Dlls[i]}");
        }

        File.WriteAllText(_folder.PathOf(".editorconfig"), "root = true\n[*]\ndotnet_diagnostic.PE1008.severity = warning\ndotnet_diagnostic.PE9999.severity = error\n");
        var drop = _folder.PathOf("drop");
        Assert.Equal(0, CliRun.Of("scan", drop, "--source-root", _folder.Root, "--fail-level", "none", "-o", _folder.PathOf("all.sarif")).ExitCode);
        var shardLogs = new List<string>();
        for (var k = 1; k <= 3; k++)
        {
            var log = _folder.PathOf($"shard{k}.sarif");
            CliRun.Of("scan", drop, "--source-root", _folder.Root, "--fail-level", "none", "--shard", $"{k}/3", "-o", log);
            shardLogs.Add(log);
        }

        // Reverse the shard order: the merged log must not depend on it.
        var merge = CliRun.Of(["merge", .. shardLogs.AsEnumerable().Reverse(), "-o", _folder.PathOf("merged.sarif")]);
        Assert.Equal(0, merge.ExitCode);

        var whole = SarifFile.Read(_folder.PathOf("all.sarif")).Runs[0];
        var merged = SarifFile.Read(_folder.PathOf("merged.sarif")).Runs[0];
        Assert.NotEmpty(whole.Results);
        Assert.Equal(Summaries(whole).Order(StringComparer.Ordinal), Summaries(merged));
        Assert.Equal(whole.Artifacts!.Select(a => a.Location!.Uri).Order(StringComparer.Ordinal), merged.Artifacts!.Select(a => a.Location!.Uri));
        Assert.Equal(whole.Tool.Driver.Rules!.Select(r => r.Id), merged.Tool.Driver.Rules!.Select(r => r.Id));
        Assert.All(merged.Results, r => Assert.Equal(r.RuleId, merged.Tool.Driver.Rules![r.RuleIndex!.Value].Id));
        Assert.All(merged.Results, r => Assert.Equal(r.Locations![0].PhysicalLocation!.ArtifactLocation!.Uri,
            merged.Artifacts![r.Locations[0].PhysicalLocation!.ArtifactLocation!.Index!.Value].Location!.Uri));
        Assert.Single(merged.Invocations![0].ToolConfigurationNotifications!); // the unknown PE9999, reported by every shard, once
    }

    private static IEnumerable<string> Summaries(Run run) => run.Results.Select(r =>
        $"{r.Locations![0].PhysicalLocation!.ArtifactLocation!.Uri}|{r.RuleId}|{r.PartialFingerprints![Fingerprints.PelintKey]}|{r.Level}|{r.Message.Text}");
}
