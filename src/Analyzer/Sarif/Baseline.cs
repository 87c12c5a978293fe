namespace Pelint.Sarif;

/// <summary>
/// Compares a run with a baseline log and sets SARIF baselineState on every result: new (not in
/// the baseline), unchanged (same identity, same level and message), updated (same identity, level
/// or message changed) and absent (only in the baseline; carried into the new run so the change is visible).
/// </summary>
public static class Baseline
{
    public static SarifLog Apply(SarifLog current, SarifLog baseline)
    {
        var run = current.Runs[0];
        var old = new Dictionary<ResultIdentity, SarifResult>();
        foreach (var result in baseline.Runs.SelectMany(r => r.Results).Where(r => r.BaselineState != "absent"))
        {
            old.TryAdd(ResultIdentity.Of(result), result);
        }

        var matched = new HashSet<ResultIdentity>();
        var results = new List<SarifResult>(run.Results.Count);
        foreach (var result in run.Results)
        {
            var identity = ResultIdentity.Of(result);
            string state;
            if (old.TryGetValue(identity, out var before) && matched.Add(identity))
            {
                state = before.Level == result.Level && before.Message.Text == result.Message.Text ? "unchanged" : "updated";
            }
            else
            {
                state = "new";
            }

            results.Add(result with { BaselineState = state });
        }

        var ruleIndex = (run.Tool.Driver.Rules ?? []).Select((r, i) => (r.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
        var artifactIndex = (run.Artifacts ?? []).Select((a, i) => (a, i)).Where(p => p.a.Location is not null)
            .ToDictionary(p => ResultReindex.Key(p.a.Location!), p => p.i, StringComparer.Ordinal);
        foreach (var (identity, result) in old.Where(p => !matched.Contains(p.Key)).OrderBy(p => p.Key.Artifact, StringComparer.Ordinal)
                     .ThenBy(p => p.Key.RuleId, StringComparer.Ordinal).ThenBy(p => p.Key.Fingerprint, StringComparer.Ordinal))
        {
            results.Add(ResultReindex.Into(result, ruleIndex, artifactIndex) with { BaselineState = "absent" });
        }

        return current with { Runs = [run with { Results = results }, .. current.Runs.Skip(1)] };
    }

    /// <summary>Whether the gate counts a result: by default only new ones (and results of a scan without baseline).</summary>
    public static bool CountsForGate(SarifResult result, bool allStates) =>
        result.BaselineState != "absent" && (allStates || result.BaselineState is null or "new");
}
