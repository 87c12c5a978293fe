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
/// One result of a rule, made by the rule's generated <c>Messages</c> methods (see
/// <see cref="RuleAttribute"/>), so its message is one its page defines, with as many arguments as
/// the template has placeholders. <see cref="FingerprintKey"/> names the logical place of the
/// finding in terms that survive a rebuild (a section name, an exported function name, a message
/// kind), never a bare RVA; the SARIF writer hashes it into partialFingerprints.
/// </summary>
public sealed record Finding
{
    // Before PastCap: static initializers run in order, and PastCap's Properties reads this one.
    private static readonly IReadOnlyDictionary<string, object> EmptyProperties = new Dictionary<string, object>();

    internal Finding(string ruleId, string messageId, IReadOnlyList<string> arguments, FindingLocation location, string fingerprintKey)
    {
        RuleId = ruleId;
        MessageId = messageId;
        Arguments = arguments;
        Location = location;
        FingerprintKey = fingerprintKey;
    }

    /// <summary>
    /// What a rule yields instead of a finding once its context says <see cref="RuleContext.IsPastCap"/>:
    /// the engine only counts it for the summary, so the rule need not describe it.
    /// </summary>
    public static Finding PastCap { get; } = new(string.Empty, string.Empty, [], FindingLocation.Image, string.Empty);

    // After PastCap, which they copy: one per level, so a rule past its cap allocates nothing.
    private static readonly Finding[] PastCapByLevel = [.. Enum.GetValues<Level>().Select(l => PastCap with { Level = l })];

    /// <summary>
    /// <see cref="PastCap"/> for a finding that would have carried its own <see cref="Level"/>: the
    /// engine's summary of the results past the cap takes the most severe level among them.
    /// </summary>
    public static Finding PastCapAt(Level level) => (int)level is var i && i >= 0 && i < PastCapByLevel.Length ? PastCapByLevel[i] : PastCap;

    public string RuleId { get; }

    public string MessageId { get; }

    public IReadOnlyList<string> Arguments { get; }

    public FindingLocation Location { get; }

    public string FingerprintKey { get; }

    public IReadOnlyList<FindingLocation> RelatedLocations { get; init; } = [];

    /// <summary>
    /// The level this finding's circumstances call for, in place of the rule's default level (a
    /// hot-patch result on an image never built hot-patchable is a note); null: the rule's level.
    /// A level configured for the rule wins over it.
    /// </summary>
    public Level? Level { get; init; }

    /// <summary>Extra facts for machines (SARIF result.properties), e.g. functionsChecked.</summary>
    public IReadOnlyDictionary<string, object> Properties { get; init; } = EmptyProperties;
}
