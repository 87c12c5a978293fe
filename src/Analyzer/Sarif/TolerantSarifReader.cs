using System.Text.Json;

namespace Pelint.Sarif;

/// <summary>A log read from a file that may be hostile or partial, with what could not be used.</summary>
public sealed record TolerantRead(SarifLog Log, IReadOnlyList<string> Problems, int DroppedResults);

/// <summary>
/// Reads whole runs (for <c>pelint merge</c>) through <see cref="SarifStreamReader"/>: a run is
/// rebuilt from its members, a bad run or result is left out with a problem instead of failing
/// the read, and at most <c>maxResults</c> results are held per log (the most severe, in order),
/// so memory follows the limit, not the file.
/// </summary>
public static class TolerantSarifReader
{
    public static TolerantRead Read(Stream stream, int maxResults)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var problems = new List<string>();
        var runs = new List<Run>();
        var members = new List<SarifRunMember>();
        var results = new List<(SarifResult Result, long Order)>();
        long order = 0;
        var dropped = 0;
        foreach (var item in SarifStreamReader.Read(stream))
        {
            switch (item)
            {
                case SarifRunMember member:
                    members.Add(member);
                    break;
                case SarifResultItem { Result: var result }:
                    results.Add((result, order++));
                    if (results.Count >= 2 * Math.Max(maxResults, 1))
                    {
                        dropped += Prune(results, maxResults);
                    }

                    break;
                case SarifProblem problem:
                    problems.Add(problem.Message);
                    break;
                case SarifRunEnd end:
                    dropped += Prune(results, maxResults);
                    if (Skeleton(members, end.RunIndex, problems) is { } run)
                    {
                        runs.Add(SarifSanitizer.Clean(run with { Results = [.. results.Select(r => r.Result)] }));
                    }
                    else
                    {
                        dropped += results.Count;
                    }

                    members.Clear();
                    results.Clear();
                    break;
            }
        }

        return new TolerantRead(new SarifLog { Runs = runs }, problems, dropped);
    }

    // Keeps the most severe results, in their order; returns how many went.
    private static int Prune(List<(SarifResult Result, long Order)> results, int max)
    {
        if (results.Count <= max)
        {
            return 0;
        }

        var keep = results.OrderByDescending(r => ResultCap.SeverityRank(r.Result.Level)).ThenBy(r => r.Order).Take(max).Select(r => r.Order).ToHashSet();
        var before = results.Count;
        results.RemoveAll(r => !keep.Contains(r.Order));
        return before - results.Count;
    }

    private static Run? Skeleton(List<SarifRunMember> members, int index, List<string> problems)
    {
        using var buffer = new MemoryStream();
        buffer.WriteByte((byte)'{');
        var first = true;
        foreach (var member in members.DistinctBy(m => m.Name))
        {
            if (!first)
            {
                buffer.WriteByte((byte)',');
            }

            first = false;
            var name = JsonSerializer.SerializeToUtf8Bytes(member.Name, SarifJsonContext.Default.String);
            buffer.Write(name);
            buffer.WriteByte((byte)':');
            buffer.Write(member.Json);
        }

        buffer.WriteByte((byte)'}');
        try
        {
            return JsonSerializer.Deserialize(buffer.ToArray(), SarifJsonContext.Default.Run);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            problems.Add($"run {index} cannot be used ({e.Message}); its results are left out");
            return null;
        }
    }
}
