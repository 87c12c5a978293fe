using System.Globalization;
using System.Text;
using Microsoft.CodeAnalysis.Text;

namespace Pelint.Generators;

/// <summary>
/// Reads a rule page's front matter the way the runtime catalogue does (flat <c>key: value</c>
/// lines, one indented <c>messages:</c> map, values optionally double-quoted), but strictly: every
/// problem is reported with its line instead of being skipped, so a malformed page fails the build.
/// </summary>
internal static class RulePageParser
{
    /// <summary>The message ID the engine uses for its "N more results" summary; pages may not define it.</summary>
    public const string ReservedMessageId = "capped";

    /// <summary>Placeholders above this index are a typo, not a message with 32 arguments.</summary>
    public const int MaxPlaceholderIndex = 31;

    private static readonly string[] RequiredKeys = ["id", "name", "title", "description", "category", "level"];

    private static readonly string[] OptionalKeys = ["enabled", "tags", "security-severity", "max-results", "max-related-locations", "messages"];

    public static RulePageModel Parse(string path, SourceText text)
    {
        var fileId = Path.GetFileNameWithoutExtension(path);
        var problems = new List<PageProblem>();
        var messages = new List<MessageModel>();
        var lines = text.Lines;
        if (lines.Count == 0 || LineText(text, 0) != "---")
        {
            problems.Add(Problem(text, 0, "the page does not start with a '---' line opening its front matter"));
            return Model(path, fileId, null, messages, problems);
        }

        var close = -1;
        for (var i = 1; i < lines.Count; i++)
        {
            if (LineText(text, i) == "---")
            {
                close = i;
                break;
            }
        }

        if (close < 0)
        {
            problems.Add(Problem(text, 0, "the front matter is not closed by a '---' line"));
            return Model(path, fileId, null, messages, problems);
        }

        var fields = new Dictionary<string, (string Value, int Line)>(StringComparer.Ordinal);
        var messageIds = new HashSet<string>(StringComparer.Ordinal);
        var inMessages = false;
        var messagesLine = -1;
        for (var i = 1; i < close; i++)
        {
            var line = LineText(text, i);
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith("#", StringComparison.Ordinal))
            {
                continue;
            }

            var colon = line.IndexOf(':');
            if (colon < 0)
            {
                problems.Add(Problem(text, i, $"cannot read '{line.Trim()}': front matter lines are 'key: value'"));
                continue;
            }

            var key = line.Substring(0, colon).Trim();
            var value = Unquote(line.Substring(colon + 1).Trim());
            if (line[0] == '\t')
            {
                problems.Add(Problem(text, i, "indent with spaces, not tabs"));
                continue;
            }

            if (line[0] == ' ')
            {
                if (!inMessages)
                {
                    problems.Add(Problem(text, i, $"indented line '{line.Trim()}' outside the 'messages:' map"));
                    continue;
                }

                ReadMessage(text, key, value, i, messageIds, messages, problems);
                continue;
            }

            inMessages = key == "messages";
            if (Array.IndexOf(RequiredKeys, key) < 0 && Array.IndexOf(OptionalKeys, key) < 0)
            {
                problems.Add(Problem(text, i, $"unknown front matter key '{key}' (known: {string.Join(", ", RequiredKeys.Concat(OptionalKeys))})"));
                continue;
            }

            if (fields.ContainsKey(key))
            {
                problems.Add(Problem(text, i, $"'{key}' is given twice"));
                continue;
            }

            fields[key] = (value, i);
            if (inMessages)
            {
                messagesLine = i;
                if (value.Length > 0)
                {
                    problems.Add(Problem(text, i, "'messages:' takes an indented map of message ID: template, not a value"));
                }
            }
        }

        foreach (var key in RequiredKeys)
        {
            if (!fields.TryGetValue(key, out var field) || field.Value.Length == 0)
            {
                problems.Add(Problem(text, close, $"the front matter has no '{key}'"));
            }
        }

        string? id = null;
        if (fields.TryGetValue("id", out var idField) && idField.Value.Length > 0)
        {
            id = idField.Value;
            if (id != fileId)
            {
                problems.Add(Problem(text, idField.Line, $"id '{id}' does not match the page's file name {fileId}.md"));
            }
        }

        if (fields.TryGetValue("name", out var name) && name.Value.Length > 0 && !IsKebab(name.Value))
        {
            problems.Add(Problem(text, name.Line, $"name '{name.Value}' is not kebab-case (lower-case words joined by '-')"));
        }

        if (fields.TryGetValue("level", out var level) && level.Value.Length > 0
            && level.Value.Trim().ToLowerInvariant() is not ("error" or "warning" or "note" or "none"))
        {
            problems.Add(Problem(text, level.Line, $"level '{level.Value}' is not one of error, warning, note, none"));
        }

        if (fields.TryGetValue("enabled", out var enabled) && enabled.Value is not ("true" or "false"))
        {
            problems.Add(Problem(text, enabled.Line, $"enabled '{enabled.Value}' is not true or false"));
        }

        CheckCount(text, fields, "max-results", 100_000, problems);
        CheckCount(text, fields, "max-related-locations", 1_000, problems);
        if (messages.Count == 0 && problems.Count == 0)
        {
            problems.Add(Problem(text, messagesLine >= 0 ? messagesLine : close, "the page defines no messages"));
        }

        return Model(path, fileId, id, messages, problems);
    }

    private static void ReadMessage(SourceText text, string id, string template, int line, HashSet<string> ids, List<MessageModel> messages, List<PageProblem> problems)
    {
        if (!IsKebab(id))
        {
            problems.Add(Problem(text, line, $"message ID '{id}' is not kebab-case (lower-case words joined by '-')"));
            return;
        }

        if (id == ReservedMessageId)
        {
            problems.Add(Problem(text, line, $"message ID '{ReservedMessageId}' is the engine's summary of results past max-results; pages cannot define it"));
            return;
        }

        if (!ids.Add(id))
        {
            problems.Add(Problem(text, line, $"message '{id}' is defined twice"));
            return;
        }

        if (template.Length == 0)
        {
            problems.Add(Problem(text, line, $"message '{id}' has an empty template"));
            return;
        }

        if (Placeholders(template, out var error) is not { } kinds)
        {
            problems.Add(Problem(text, line, $"message '{id}': {error}"));
            return;
        }

        messages.Add(new MessageModel(id, template, MethodName(id), new EquatableArray<PlaceholderKindBox>(kinds)));
    }

    /// <summary>
    /// The kind of each placeholder {0}..{n-1}, as MessageTemplate.Format reads the template
    /// ("{{" and "}}" are literal braces); null with a reason when a brace is stray, an index
    /// is skipped, or one index is both hexadecimal ("0x{n}") and not.
    /// </summary>
    public static PlaceholderKindBox[]? Placeholders(string template, out string error)
    {
        var kinds = new PlaceholderKind?[MaxPlaceholderIndex + 1];
        var count = 0;
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if ((c == '{' || c == '}') && i + 1 < template.Length && template[i + 1] == c)
            {
                i++;
                continue;
            }

            if (c == '}')
            {
                error = $"stray '}}' at column {i + 1}; write '}}}}' for a literal brace";
                return null;
            }

            if (c != '{')
            {
                continue;
            }

            var close = template.IndexOf('}', i + 1);
            var digits = close < 0 ? string.Empty : template.Substring(i + 1, close - i - 1);
            if (digits.Length == 0 || digits.Length > 2 || !digits.All(d => d is >= '0' and <= '9'))
            {
                error = $"'{{' at column {i + 1} starts no placeholder {{0}}..{{{MaxPlaceholderIndex}}}; write '{{{{' for a literal brace";
                return null;
            }

            var index = int.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
            if (index > MaxPlaceholderIndex)
            {
                error = $"placeholder {{{index}}} is above {{{MaxPlaceholderIndex}}}";
                return null;
            }

            var kind = i >= 2 && template[i - 2] == '0' && template[i - 1] == 'x' ? PlaceholderKind.Hex : PlaceholderKind.Text;
            if (kinds[index] is { } seen && seen != kind)
            {
                error = $"placeholder {{{index}}} is used both after '0x' (hexadecimal) and not";
                return null;
            }

            kinds[index] = kind;
            count = Math.Max(count, index + 1);
            i = close;
        }

        var result = new PlaceholderKindBox[count];
        for (var k = 0; k < count; k++)
        {
            if (kinds[k] is not { } kind)
            {
                error = $"placeholder {{{k}}} is never used, but {{{count - 1}}} is: number placeholders {{0}}..{{{count - 1}}} without gaps";
                return null;
            }

            result[k] = new PlaceholderKindBox(kind);
        }

        error = string.Empty;
        return result;
    }

    /// <summary>"page-unaligned" -> "PageUnaligned", "v2-witness" -> "V2Witness".</summary>
    public static string MethodName(string kebab)
    {
        var builder = new StringBuilder(kebab.Length);
        foreach (var part in kebab.Split('-'))
        {
            builder.Append(char.ToUpperInvariant(part[0])).Append(part, 1, part.Length - 1);
        }

        return builder.ToString();
    }

    private static void CheckCount(SourceText text, Dictionary<string, (string Value, int Line)> fields, string key, int max, List<PageProblem> problems)
    {
        if (fields.TryGetValue(key, out var field)
            && !(int.TryParse(field.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 && n <= max))
        {
            problems.Add(Problem(text, field.Line, $"{key} '{field.Value}' is not a whole number from 1 to {max.ToString("N0", CultureInfo.InvariantCulture)}"));
        }
    }

    private static bool IsKebab(string text)
    {
        if (text.Length == 0 || text[0] == '-' || text[text.Length - 1] == '-' || text.IndexOf("--", StringComparison.Ordinal) >= 0)
        {
            return false;
        }

        return text.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-') && text[0] is >= 'a' and <= 'z';
    }

    // The runtime parser's unquoting (Pelint.Rules.RulePage), so templates are read identically.
    private static string Unquote(string value) =>
        value.Length >= 2 && value[0] == '"' && value[value.Length - 1] == '"'
            ? value.Substring(1, value.Length - 2).Replace("\\\"", "\"").Replace("\\\\", "\\")
            : value;

    private static PageProblem Problem(SourceText text, int line, string message)
    {
        var span = text.Lines.Count > line ? text.Lines[line].Span : default;
        return new PageProblem(line, span.Start, span.Length, message);
    }

    private static string LineText(SourceText text, int line) => text.ToString(text.Lines[line].Span).TrimEnd('\r');

    private static RulePageModel Model(string path, string fileId, string? id, List<MessageModel> messages, List<PageProblem> problems) =>
        new(path, fileId, id, new EquatableArray<MessageModel>([.. messages]), new EquatableArray<PageProblem>([.. problems]));
}
