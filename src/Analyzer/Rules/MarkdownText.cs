namespace Pelint.Rules;

/// <summary>The plain-text form of a rule page's Markdown help (SARIF help.text, the console).</summary>
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
