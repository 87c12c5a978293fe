namespace Pelint.Rules;

/// <summary>The plain-text form of a rule page's Markdown help (SARIF help.text, the console).</summary>
internal static class MarkdownText
{
    public static string ToPlainText(string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n").Split('\n');
        var builder = new System.Text.StringBuilder(markdown.Length);
        var inCode = false;
        foreach (var raw in lines)
        {
            if (raw.StartsWith("```", StringComparison.Ordinal))
            {
                inCode = !inCode;
                continue;
            }

            if (inCode)
            {
                // Code and tool output (an Example's dump) keep their indentation, backticks and '#'.
                builder.Append(raw).Append('\n');
                continue;
            }

            var line = raw.TrimStart('#', ' ').Replace("**", string.Empty).Replace("`", string.Empty);
            builder.Append(raw.StartsWith('#') ? line.ToUpperInvariant() : line).Append('\n');
        }

        return builder.ToString().Trim();
    }
}
