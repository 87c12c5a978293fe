using System.Text;
using Pelint.Engine;

namespace Pelint.Sarif;

/// <summary>What applying a baseline gave: the log with baseline states, and what was wrong with the baseline.</summary>
public sealed record BaselineOutcome(SarifLog Log, IReadOnlyList<string> Problems, int AbsentDropped);

/// <summary>
/// Compares a run with a baseline log and sets SARIF baselineState on every result: new (not in
/// the baseline), unchanged (same identity, same level and message), updated (same identity, level
/// or message changed) and absent (only in the baseline; carried into the new run so the change is
/// visible, at most as many as the caller allows). The baseline is streamed twice (identities
/// first, then the absent results), never held: a baseline of a million results costs a few tens
/// of MB. A baseline that is partly unreadable still counts for what could be read.
/// </summary>
public static class Baseline
{
    private const int MaxProblemsListed = 10;

    public static BaselineOutcome Apply(SarifLog current, Func<Stream> openBaseline, int maxAbsent)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(openBaseline);
        var run = current.Runs[0];
        var problems = new List<string>();
        var problemCount = 0;
        var old = new Dictionary<UInt128, (ulong State, long Ordinal)>();
        long ordinal = 0;
        using (var stream = openBaseline())
        {
            foreach (var item in SarifStreamReader.Read(stream))
            {
                switch (item)
                {
                    case SarifResultItem { Result: var result } when result.BaselineState != "absent":
                        old.TryAdd(IdentityHash(result), (StateHash(result), ordinal));
                        ordinal++;
                        break;
                    case SarifResultItem:
                        ordinal++;
                        break;
                    case SarifProblem problem:
                        if (++problemCount <= MaxProblemsListed)
                        {
                            problems.Add(problem.Message);
                        }

                        break;
                }
            }
        }

        if (problemCount > MaxProblemsListed)
        {
            problems.Add($"{problemCount - MaxProblemsListed:N0} more problems of the same kinds");
        }

        var matched = new HashSet<UInt128>();
        var results = new List<SarifResult>(run.Results.Count);
        foreach (var result in run.Results)
        {
            var identity = IdentityHash(result);
            string state;
            if (old.TryGetValue(identity, out var before) && matched.Add(identity))
            {
                state = before.State == StateHash(result) ? "unchanged" : "updated";
            }
            else
            {
                state = "new";
            }

            results.Add(result with { BaselineState = state });
        }

        var absentTotal = old.Count - matched.Count;
        var kept = 0;
        if (absentTotal > 0 && maxAbsent > 0)
        {
            var ruleIndex = (run.Tool.Driver.Rules ?? []).Select((r, i) => (r.Id, i)).DistinctBy(p => p.Id).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
            var artifactIndex = (run.Artifacts ?? []).Select((a, i) => (a, i)).Where(p => p.a.Location is not null)
                .DistinctBy(p => ResultReindex.Key(p.a.Location!)).ToDictionary(p => ResultReindex.Key(p.a.Location!), p => p.i, StringComparer.Ordinal);
            ordinal = 0;
            using var stream = openBaseline();
            foreach (var item in SarifStreamReader.Read(stream))
            {
                if (item is not SarifResultItem { Result: var result })
                {
                    continue;
                }

                var at = ordinal++;
                if (result.BaselineState == "absent")
                {
                    continue;
                }

                var identity = IdentityHash(result);
                // The first baseline result of each identity that no current result matched.
                if (old.TryGetValue(identity, out var entry) && entry.Ordinal == at && !matched.Contains(identity))
                {
                    results.Add(ResultReindex.Into(result, ruleIndex, artifactIndex) with { BaselineState = "absent" });
                    if (++kept == maxAbsent)
                    {
                        break;
                    }
                }
            }
        }

        var log = current with { Runs = [run with { Results = results }, .. current.Runs.Skip(1)] };
        return new BaselineOutcome(log, problems, absentTotal - kept);
    }

    /// <summary>Whether the gate counts a result: by default only new ones (and results of a scan without baseline).</summary>
    public static bool CountsForGate(SarifResult result, bool allStates) =>
        result.BaselineState != "absent" && (allStates || result.BaselineState is null or "new");

    // 128 bits of SHA-256 of the identity (artifact, rule, fingerprint; see ResultIdentity): the
    // index holds hashes, not strings, so its size does not depend on how long a hostile URI is.
    private static UInt128 IdentityHash(SarifResult result)
    {
        var identity = ResultIdentity.Of(result);
        Span<byte> hash = stackalloc byte[Sha256.HashSize];
        Sha256.HashData(Encoding.UTF8.GetBytes($"{identity.Artifact}\0{identity.RuleId}\0{identity.Fingerprint}"), hash);
        return new UInt128(BitConverter.ToUInt64(hash), BitConverter.ToUInt64(hash[8..]));
    }

    private static ulong StateHash(SarifResult result)
    {
        Span<byte> hash = stackalloc byte[Sha256.HashSize];
        Sha256.HashData(Encoding.UTF8.GetBytes($"{result.Level}\0{result.Message.Text}"), hash);
        return BitConverter.ToUInt64(hash);
    }
}
