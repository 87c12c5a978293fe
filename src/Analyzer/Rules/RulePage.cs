namespace Pelint.Rules;

/// <summary>
/// Parses a rule page: YAML-style front matter between <c>---</c> lines (flat keys, one nested
/// <c>messages:</c> map, values optionally double-quoted), then the Markdown help body. The build
/// reads the same pages with src/Analyzer.Generators, strictly (a malformed page fails the build);
/// RuleMessagesAgreementTests keep the two readings in step.
/// </summary>
public static class RulePage
{
    public static RuleDescriptor Parse(string text, string source)
    {
        var normalized = text.Replace("\r\n", "\n");
        if (!normalized.StartsWith("---\n", StringComparison.Ordinal))
        {
            throw new FormatException($"{source}: no front matter");
        }

        var end = normalized.IndexOf("\n---\n", 3, StringComparison.Ordinal);
        if (end < 0)
        {
            throw new FormatException($"{source}: front matter not closed");
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var messages = new Dictionary<string, string>(StringComparer.Ordinal);
        var inMessages = false;
        foreach (var line in normalized[4..end].Split('\n'))
        {
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                throw new FormatException($"{source}: cannot read front matter line '{line}'");
            }

            var key = line[..colon].Trim();
            var value = Unquote(line[(colon + 1)..].Trim());
            if (line.StartsWith(' '))
            {
                if (!inMessages)
                {
                    throw new FormatException($"{source}: unexpected indented line '{line}'");
                }

                if (key == RuleDescriptor.CappedMessageId)
                {
                    throw new FormatException($"{source}: message '{key}' is the engine's summary of results past max-results; pages cannot define it");
                }

                messages[key] = value;
                continue;
            }

            inMessages = key == "messages";
            if (!inMessages)
            {
                fields[key] = value;
            }
        }

        string Required(string key) =>
            fields.TryGetValue(key, out var v) && v.Length > 0 ? v : throw new FormatException($"{source}: missing '{key}'");

        if (!LevelNames.TryParse(Required("level"), out var level))
        {
            throw new FormatException($"{source}: bad level '{fields["level"]}'");
        }

        var id = Required("id");
        messages[RuleDescriptor.CappedMessageId] = RuleDescriptor.CappedTemplate;
        var tags = fields.TryGetValue("tags", out var t)
            ? t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : [];
        return new RuleDescriptor(
            id,
            Required("name"),
            Required("title"),
            Required("description"),
            Required("category"),
            level,
            !fields.TryGetValue("enabled", out var enabled) || enabled != "false",
            messages,
            tags,
            fields.GetValueOrDefault("security-severity"),
            string.Concat(normalized.AsSpan(end + 5).Trim(), "\n"),
            $"{RuleDescriptor.RepositoryUri}/blob/main/rules/{id}.md")
        {
            Precision = Required("precision") is "very-high" or "high" or "medium" or "low" ? fields["precision"]
                : throw new FormatException($"{source}: precision '{fields["precision"]}' is not one of very-high, high, medium, low"),
            MaxResults = Count("max-results", RuleDescriptor.DefaultMaxResults, 100_000),
            MaxRelatedLocations = Count("max-related-locations", RuleDescriptor.DefaultMaxRelatedLocations, 1_000),
        };

        int Count(string key, int fallback, int max) =>
            !fields.TryGetValue(key, out var text) ? fallback
            : int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= 1 && n <= max ? n
            : throw new FormatException($"{source}: {key} '{text}' is not a whole number from 1 to {max}");
    }

    private static string Unquote(string value) =>
        value.Length >= 2 && value[0] == '"' && value[^1] == '"'
            ? value[1..^1].Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal)
            : value;
}
