namespace Pelint.Sarif;

/// <summary>
/// Joins the logs of a sharded scan into one run: each rule once, artifacts de-duplicated and
/// re-indexed in URI order, results ordered by artifact URI (each artifact's results keep their
/// order), every notification kept (identical ones, which every shard
/// reports, once). The output depends only on the set of inputs, not on their order.
/// </summary>
public static class SarifMerge
{
    public static SarifLog Merge(IReadOnlyList<SarifLog> logs)
    {
        if (logs.Count == 0)
        {
            throw new ArgumentException("nothing to merge", nameof(logs));
        }

        var runs = logs.SelectMany(l => l.Runs).ToList();
        if (runs.Count == 0)
        {
            throw new ArgumentException("no run to merge", nameof(logs));
        }

        var first = runs[0];
        var rules = runs.SelectMany(r => r.Tool.Driver.Rules ?? []).GroupBy(r => r.Id, StringComparer.Ordinal)
            .Select(g => g.First()).OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
        var ruleIndex = rules.Select((r, i) => (r.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
        var artifacts = runs.SelectMany(r => r.Artifacts ?? []).Where(a => a.Location is not null)
            .GroupBy(a => ResultReindex.Key(a.Location!), StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => g.First() with { Location = g.First().Location! with { Index = null } })
            .ToList();
        var artifactIndex = artifacts.Select((a, i) => (Key: ResultReindex.Key(a.Location!), i)).ToDictionary(p => p.Key, p => p.i, StringComparer.Ordinal);

        var results = runs.SelectMany(r => r.Results)
            .Select(r => ResultReindex.Into(r, ruleIndex, artifactIndex))
            .OrderBy(r => ArtifactKeyOf(r), StringComparer.Ordinal)
            .ToList();
        var invocations = runs.SelectMany(r => r.Invocations ?? []).ToList();
        // Input problems found while enumerating (a missing path) are reported by every shard: keep one.
        var execution = Notifications(invocations.SelectMany(i => i.ToolExecutionNotifications ?? []), artifactIndex)
            .DistinctBy(n => (n.Descriptor?.Id, n.Message.Text)).ToList();
        var configuration = Notifications(invocations.SelectMany(i => i.ToolConfigurationNotifications ?? []), artifactIndex)
            .DistinctBy(n => (n.Descriptor?.Id, n.Message.Text)).ToList();
        var invocation = new Invocation
        {
            ExecutionSuccessful = invocations.All(i => i.ExecutionSuccessful),
            StartTimeUtc = invocations.Select(i => i.StartTimeUtc).Where(t => t is not null).Min(StringComparer.Ordinal),
            EndTimeUtc = invocations.Select(i => i.EndTimeUtc).Where(t => t is not null).Max(StringComparer.Ordinal),
            ExitCode = invocations.Select(i => i.ExitCode).Max(),
            ToolExecutionNotifications = execution.Count > 0 ? execution : null,
            ToolConfigurationNotifications = configuration.Count > 0 ? configuration : null,
        };
        var run = first with
        {
            Tool = new Tool { Driver = first.Tool.Driver with { Rules = rules } },
            Artifacts = artifacts,
            Invocations = [invocation],
            Results = results,
        };
        return new SarifLog { Runs = [run] };
    }

    private static string ArtifactKeyOf(SarifResult result) =>
        result.Locations?.FirstOrDefault()?.PhysicalLocation?.ArtifactLocation is { } a ? ResultReindex.Key(a) : string.Empty;

    // Notifications are ordered by their artifact too, so shard order does not show in the merged log.
    private static List<Notification> Notifications(IEnumerable<Notification> notifications, IReadOnlyDictionary<string, int> artifactIndex) =>
        [.. notifications
            .Select(n => n with { Locations = ResultReindex.Relocate(n.Locations, artifactIndex) })
            .OrderBy(n => n.Locations?.FirstOrDefault()?.PhysicalLocation?.ArtifactLocation is { } a ? ResultReindex.Key(a) : string.Empty, StringComparer.Ordinal)
            .ThenBy(n => n.Descriptor?.Id, StringComparer.Ordinal)
            .ThenBy(n => n.Message.Text, StringComparer.Ordinal)];
}
