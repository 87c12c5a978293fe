namespace Pelint.Rules;

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
