using Pelint.Engine;

namespace Pelint.Sarif;

/// <summary>
/// Keeps a run within a number of results (GitHub code scanning accepts 25,000 per run). It runs
/// last, after the baseline and after the exit code was decided from every result, so the cap
/// changes what is shown, never whether the gate passes. The most severe results are kept, results
/// of this scan before absent ones from the baseline, each in its original order; a PEL0006
/// notification says how many were dropped.
/// </summary>
public static class ResultCap
{
    public static SarifLog Apply(SarifLog log, int max, int alreadyDropped = 0)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        var run = log.Runs[0];
        var results = run.Results;
        var total = results.Count + alreadyDropped;
        if (results.Count <= max && alreadyDropped == 0)
        {
            return log;
        }

        var kept = results;
        if (results.Count > max)
        {
            var keep = results.Select((r, i) => (Absent: r.BaselineState == "absent", Rank: SeverityRank(r.Level), i))
                .OrderBy(p => p.Absent).ThenByDescending(p => p.Rank).ThenBy(p => p.i)
                .Take(max).Select(p => p.i).ToHashSet();
            kept = [.. results.Where((_, i) => keep.Contains(i))];
        }

        var dropped = total - kept.Count;
        var notice = new Notification
        {
            Descriptor = new ReportingDescriptorReference { Id = ToolNotification.ResultsCapped },
            Level = "warning",
            Message = new Message { Text = $"{total:N0} results exceed the limit of {max:N0} per run (--max-results; GitHub code scanning accepts 25,000); the {dropped:N0} least severe were dropped." },
        };
        var invocations = run.Invocations is { Count: > 0 } list
            ? [list[0] with { ToolExecutionNotifications = [.. list[0].ToolExecutionNotifications ?? [], notice] }, .. list.Skip(1)]
            : new List<Invocation> { new() { ExecutionSuccessful = true, ToolExecutionNotifications = [notice] } };
        return log with { Runs = [run with { Results = kept, Invocations = invocations }, .. log.Runs.Skip(1)] };
    }

    public static int SeverityRank(string? level) => level switch
    {
        "error" => 3,
        "warning" or null => 2,
        "note" => 1,
        _ => 0,
    };
}
