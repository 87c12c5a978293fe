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
