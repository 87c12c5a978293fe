using System.Globalization;
using System.Text;

namespace Pelint.Reporting;

/// <summary>
/// Text that reaches a terminal. Names and messages come from the scanned files (section names,
/// export names, file names), so every control character is shown escaped, never sent: ESC would
/// start a terminal sequence (clear the screen, set the title, move the cursor), CR or LF would
/// overwrite a line or forge one, and bidirectional overrides would reorder what is read. SARIF
/// and JSON keep the exact text.
/// </summary>
public static class ConsoleText
{
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var i = 0;
        while (i < text.Length && !NeedsEscape(text, i))
        {
            i++;
        }

        if (i == text.Length)
        {
            return text;
        }

        var escaped = new StringBuilder(text.Length + 16).Append(text, 0, i);
        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                escaped.Append(c).Append(text[++i]);
            }
            else if (!NeedsEscape(text, i))
            {
                escaped.Append(c);
            }
            else if (c is >= '\uDC80' and <= '\uDCFF')
            {
                // A byte of a file name that is not UTF-8 (see HostFiles).
                escaped.Append(CultureInfo.InvariantCulture, $"\\x{c - 0xDC00:X2}");
            }
            else if (c < 0x80)
            {
                escaped.Append(c switch
                {
                    '\n' => "\\n",
                    '\r' => "\\r",
                    '\t' => "\\t",
                    _ => string.Create(CultureInfo.InvariantCulture, $"\\x{(int)c:X2}"),
                });
            }
            else
            {
                escaped.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
        }

        return escaped.ToString();
    }

    private static bool NeedsEscape(string text, int i)
    {
        var c = text[i];
        if (char.IsSurrogate(c))
        {
            // A pair is text; a lone surrogate is not.
            return char.IsHighSurrogate(c) ? i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]) : i == 0 || !char.IsHighSurrogate(text[i - 1]);
        }

        return c < 0x20 || c is >= '\u007F' and <= '\u009F'
            || c is '\u061C' or '\u200E' or '\u200F' or >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069'
            || c is '\u2028' or '\u2029';
    }

    /// <summary>
    /// Splits text into lines of at most <paramref name="width"/> columns at spaces, the first after
    /// <paramref name="firstWidth"/> columns already used; a word longer than a line is cut.
    /// </summary>
    public static IEnumerable<string> Wrap(string text, int firstWidth, int width)
    {
        if (text.Length <= firstWidth || width <= 0)
        {
            yield return text;
            yield break;
        }

        var limit = Math.Max(firstWidth, 1);
        var start = 0;
        while (start < text.Length)
        {
            if (text.Length - start <= limit)
            {
                yield return text[start..];
                yield break;
            }

            var cut = text.LastIndexOf(' ', start + limit, limit + 1);
            var next = cut + 1;
            if (cut <= start)
            {
                cut = start + limit;
                next = cut;
            }

            yield return text[start..cut];
            start = next;
            while (start < text.Length && text[start] == ' ')
            {
                start++;
            }

            limit = Math.Max(width, 1);
        }
    }
}

/// <summary>A writer for plain terminal text (no colours of its own): each line is escaped (<see cref="ConsoleText.Escape"/>) on its way out.</summary>
public sealed class EscapingWriter(TextWriter inner) : TextWriter
{
    private readonly StringBuilder _line = new();

    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value)
    {
        if (value == '\n')
        {
            inner.Write(ConsoleText.Escape(_line.ToString()));
            inner.Write('\n');
            _line.Clear();
        }
        else if (value != '\r' || _line.Length > 0)
        {
            _line.Append(value);
        }
    }

    public override void Write(string? value)
    {
        foreach (var c in value ?? string.Empty)
        {
            Write(c);
        }
    }

    public override void WriteLine(string? value)
    {
        Write(value);
        Write('\n');
    }

    public override void WriteLine() => Write('\n');

    public override void Flush()
    {
        if (_line.Length > 0)
        {
            inner.Write(ConsoleText.Escape(_line.ToString()));
            _line.Clear();
        }

        inner.Flush();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Flush();
        }

        base.Dispose(disposing);
    }
}
