using System.Globalization;
using Pelint.Configuration;
using Pelint.Engine;
using Pelint.Rules;

namespace Pelint.Sarif;

/// <summary>
/// Marks the results a committed suppression covers: each keeps its place in the log with a
/// <c>suppressions</c> entry (kind external, status accepted, the justification, and the file and
/// line of the suppression), so a reader sees it was decided on, and why. The gate and the result
/// cap then leave suppressed results aside. Problems in the suppressions files (PEL0100) and
/// stale entries (PEL0101, with the entry's file and line) become configuration notifications.
/// </summary>
public static class SuppressionApplier
{
    public static SarifLog Apply(SarifLog log, SuppressionSet suppressions, IReadOnlyList<string> analyzedPaths, string sourceRoot)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(suppressions);
        ArgumentNullException.ThrowIfNull(analyzedPaths);
        var uris = new ArtifactUris(sourceRoot);
        var entriesByArtifact = new Dictionary<string, IReadOnlyList<SuppressionEntry>>(StringComparer.Ordinal);
        foreach (var path in analyzedPaths)
        {
            entriesByArtifact.TryAdd(ResultReindex.Key(uris.LocationOf(path)), suppressions.EntriesFor(path));
        }

        var run = log.Runs[0];
        var results = new List<SarifResult>(run.Results.Count);
        foreach (var result in run.Results)
        {
            var location = result.Locations?.FirstOrDefault();
            var artifact = location?.PhysicalLocation?.ArtifactLocation;
            if (artifact is null || !entriesByArtifact.TryGetValue(ResultReindex.Key(artifact), out var entries) || entries.Count == 0
                || suppressions.Match(entries, result.RuleId, location?.LogicalLocations?.FirstOrDefault()?.Name,
                    result.PartialFingerprints?.GetValueOrDefault(Fingerprints.PelintKey)) is not { } entry)
            {
                results.Add(result);
                continue;
            }

            results.Add(result with
            {
                Suppressions =
                [
                    new Suppression
                    {
                        Kind = "external",
                        Status = "accepted",
                        Justification = entry.Justification,
                        Location = At(uris, entry.Source, entry.Line),
                    },
                ],
            });
        }

        var notices = new List<Notification>();
        foreach (var problem in suppressions.Problems)
        {
            notices.Add(new Notification
            {
                Descriptor = new ReportingDescriptorReference { Id = problem.Id },
                Level = problem.Level.ToSarif(),
                Message = new Message { Text = problem.Message },
                Locations = problem.Path is null ? null : [At(uris, problem.Path, null)],
            });
        }

        foreach (var (entry, files) in suppressions.Stale())
        {
            var narrowed = (entry.Function is null ? string.Empty : $", function {entry.Function}") + (entry.Fingerprint is null ? string.Empty : $", fingerprint {entry.Fingerprint}");
            notices.Add(new Notification
            {
                Descriptor = new ReportingDescriptorReference { Id = ToolNotification.StaleSuppression },
                Level = "warning",
                Message = new Message
                {
                    Text = string.Create(CultureInfo.InvariantCulture,
                        $"{entry.Source}({entry.Line}): stale suppression: no {entry.RuleId} result in '{entry.Files.Pattern}'{narrowed} ({files:N0} scanned file{(files == 1 ? string.Empty : "s")} matched); remove the entry or correct it"),
                },
                Locations = [At(uris, entry.Source, entry.Line)],
            });
        }

        var invocations = run.Invocations is { Count: > 0 } list
            ? [list[0] with { ToolConfigurationNotifications = notices.Count == 0 ? list[0].ToolConfigurationNotifications : [.. list[0].ToolConfigurationNotifications ?? [], .. notices] }, .. list.Skip(1)]
            : run.Invocations;
        return log with { Runs = [run with { Results = results, Invocations = invocations }, .. log.Runs.Skip(1)] };
    }

    private static Location At(ArtifactUris uris, string path, int? line) => new()
    {
        PhysicalLocation = new PhysicalLocation
        {
            ArtifactLocation = uris.LocationOf(path),
            Region = line is > 0 ? new Region { StartLine = line } : null,
        },
    };
}
