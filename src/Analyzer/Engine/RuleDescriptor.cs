namespace Pelint.Engine;

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

/// <summary>SARIF-style message templates: {0}, {1}... replaced by arguments; {{ and }} are literal braces.</summary>
public static class MessageTemplate
{
    public static string Format(string template, IReadOnlyList<string> arguments)
    {
        var builder = new System.Text.StringBuilder(template.Length + 32);
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if (c == '{' && i + 1 < template.Length && template[i + 1] == '{')
            {
                builder.Append('{');
                i++;
            }
            else if (c == '}' && i + 1 < template.Length && template[i + 1] == '}')
            {
                builder.Append('}');
                i++;
            }
            else if (c == '{')
            {
                var close = template.IndexOf('}', i);
                if (close > i && int.TryParse(template.AsSpan(i + 1, close - i - 1), out var index) && index >= 0 && index < arguments.Count)
                {
                    builder.Append(arguments[index]);
                    i = close;
                }
                else
                {
                    builder.Append(c);
                }
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>The number of distinct placeholders a template uses (max index + 1).</summary>
    public static int ArgumentCount(string template)
    {
        var max = -1;
        var matches = System.Text.RegularExpressions.Regex.Matches(template, @"(?<!\{)\{(\d+)\}");
        foreach (System.Text.RegularExpressions.Match m in matches)
        {
            max = Math.Max(max, int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        }

        return max + 1;
    }
}

internal static class MarkdownText
{
    public static string ToPlainText(string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n").Split('\n');
        var builder = new System.Text.StringBuilder(markdown.Length);
        foreach (var raw in lines)
        {
            var line = raw.TrimStart('#', ' ').Replace("**", string.Empty).Replace("`", string.Empty);
            if (raw.StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }

            builder.Append(raw.StartsWith('#') ? line.ToUpperInvariant() : line).Append('\n');
        }

        return builder.ToString().Trim();
    }
}
