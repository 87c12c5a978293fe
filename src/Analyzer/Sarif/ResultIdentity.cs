namespace Pelint.Sarif;

/// <summary>
/// What makes two results "the same alert" across scans: the artifact's URI (with its base id),
/// the rule, and pelint's rebuild-stable fingerprint. Offsets and RVAs are deliberately not part of it.
/// </summary>
public sealed record ResultIdentity(string Artifact, string RuleId, string Fingerprint)
{
    public static ResultIdentity Of(SarifResult result)
    {
        var artifact = result.Locations?.FirstOrDefault()?.PhysicalLocation?.ArtifactLocation;
        var uri = artifact is null ? string.Empty : $"{artifact.UriBaseId}|{artifact.Uri}";
        var fingerprint = result.PartialFingerprints?.GetValueOrDefault(Fingerprints.PelintKey) ?? result.Message.Text ?? string.Empty;
        return new ResultIdentity(uri, result.RuleId, fingerprint);
    }
}

/// <summary>Re-points a result's artifact and rule indices at another run's tables (baselines, merge).</summary>
public static class ResultReindex
{
    public static SarifResult Into(SarifResult result, IReadOnlyDictionary<string, int> ruleIndex, IReadOnlyDictionary<string, int> artifactIndex) => result with
    {
        RuleIndex = ruleIndex.TryGetValue(result.RuleId, out var r) ? r : null,
        Locations = Relocate(result.Locations, artifactIndex),
        RelatedLocations = Relocate(result.RelatedLocations, artifactIndex),
    };

    public static List<Location>? Relocate(List<Location>? locations, IReadOnlyDictionary<string, int> artifactIndex) =>
        locations?.Select(l => l.PhysicalLocation?.ArtifactLocation is { } a
            ? l with { PhysicalLocation = l.PhysicalLocation with { ArtifactLocation = a with { Index = IndexOf(a, artifactIndex) } } }
            : l).ToList();

    public static string Key(ArtifactLocation location) => $"{location.UriBaseId}|{location.Uri}";

    private static int? IndexOf(ArtifactLocation location, IReadOnlyDictionary<string, int> artifactIndex) =>
        artifactIndex.TryGetValue(Key(location), out var i) ? i : null;
}
