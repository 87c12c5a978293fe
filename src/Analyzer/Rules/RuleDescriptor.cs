namespace Pelint.Rules;

/// <summary>
/// A rule's metadata, read from its page in <c>rules/</c>: the front matter gives the SARIF
/// reportingDescriptor fields and the message templates, the body is the help text.
/// </summary>
public sealed record RuleDescriptor(
    string Id,
    string Name,
    string Title,
    string Description,
    string Category,
    Level DefaultLevel,
    bool EnabledByDefault,
    IReadOnlyDictionary<string, string> Messages,
    IReadOnlyList<string> Tags,
    string? SecuritySeverity,
    string HelpMarkdown,
    string HelpUri)
{
    public const string RepositoryUri = "https://github.com/pelint/pelint";

    /// <summary>Results per image when a page sets no <c>max-results</c>.</summary>
    public const int DefaultMaxResults = 100;

    /// <summary>Related locations per result when a page sets no <c>max-related-locations</c> (GitHub keeps 1,000).</summary>
    public const int DefaultMaxRelatedLocations = 1_000;

    /// <summary>
    /// The message of the engine's summary result when a rule has more findings on an image than
    /// its <c>max-results</c>; every rule has it, no page may define it. Arguments: file name,
    /// findings not reported, the limit.
    /// </summary>
    public const string CappedMessageId = "capped";

    public const string CappedTemplate = "{0}: {1} more results of this rule were not reported (max-results {2} per image).";

    /// <summary>The most results the engine keeps per image (<c>max-results</c>); past it, one summary result.</summary>
    public int MaxResults { get; init; } = DefaultMaxResults;

    /// <summary>The most related locations one result of this rule lists (<c>max-related-locations</c>).</summary>
    public int MaxRelatedLocations { get; init; } = DefaultMaxRelatedLocations;

    /// <summary>Plain-text help: the Markdown body without its markup characters.</summary>
    public string HelpText => MarkdownText.ToPlainText(HelpMarkdown);

    public string FormatMessage(string messageId, IReadOnlyList<string> arguments)
    {
        if (!Messages.TryGetValue(messageId, out var template))
        {
            throw new InvalidOperationException($"{Id} has no message '{messageId}' in rules/{Id}.md");
        }

        return MessageTemplate.Format(template, arguments);
    }
}
