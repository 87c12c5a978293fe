namespace Pelint.Rules;

/// <summary>
/// Where a finding is: bytes of the file (offset, length), and/or an RVA and the function that
/// contains it. Every part is optional because image-wide findings have no single place.
/// </summary>
public sealed record FindingLocation(
    long? FileOffset = null,
    int? Length = null,
    uint? Rva = null,
    string? Function = null,
    uint? FunctionRva = null,
    string? Description = null)
{
    public static readonly FindingLocation Image = new();
}

/// <summary>
/// One result of a rule. <see cref="FingerprintKey"/> names the logical place of the finding
/// in terms that survive a rebuild (a section name, an exported function name, a message kind),
/// never a bare RVA; the SARIF writer hashes it into partialFingerprints.
/// </summary>
public sealed record Finding(
    string RuleId,
    string MessageId,
    IReadOnlyList<string> Arguments,
    FindingLocation Location,
    string FingerprintKey)
{
    public IReadOnlyList<FindingLocation> RelatedLocations { get; init; } = [];

    /// <summary>Extra facts for machines (SARIF result.properties), e.g. functionsChecked.</summary>
    public IReadOnlyDictionary<string, object> Properties { get; init; } = EmptyProperties;

    private static readonly IReadOnlyDictionary<string, object> EmptyProperties = new Dictionary<string, object>();
}
