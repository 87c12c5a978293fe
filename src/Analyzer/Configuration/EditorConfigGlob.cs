using System.Text;
using System.Text.RegularExpressions;

namespace Pelint.Configuration;

/// <summary>
/// An editorconfig section glob: <c>*</c> (within a folder), <c>**</c> (any depth), <c>?</c>,
/// <c>[abc]</c>, <c>[!abc]</c>, <c>{a,b}</c>. A glob without '/' matches the file name in any
/// folder below the .editorconfig; one with '/' is relative to the .editorconfig's folder.
/// </summary>
public sealed class EditorConfigGlob
{
    private readonly Regex _regex;

    private EditorConfigGlob(string pattern, Regex regex)
    {
        Pattern = pattern;
        _regex = regex;
    }

    public string Pattern { get; }

    public static EditorConfigGlob Compile(string pattern)
    {
        var glob = pattern.Replace('\\', '/');
        glob = glob.Contains('/', StringComparison.Ordinal) ? glob.TrimStart('/') : "**/" + glob;
        var regex = new StringBuilder("^");
        var braces = 0;
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            switch (c)
            {
                case '*' when i + 1 < glob.Length && glob[i + 1] == '*':
                    i++;
                    if (i + 1 < glob.Length && glob[i + 1] == '/')
                    {
                        // "**/" also matches no folder at all.
                        i++;
                        regex.Append("(?:.*/)?");
                    }
                    else
                    {
                        regex.Append(".*");
                    }

                    break;
                case '*':
                    regex.Append("[^/]*");
                    break;
                case '?':
                    regex.Append("[^/]");
                    break;
                case '[':
                    var close = glob.IndexOf(']', i + 1);
                    if (close < 0)
                    {
                        regex.Append(@"\[");
                        break;
                    }

                    var set = glob[(i + 1)..close];
                    regex.Append('[').Append(set.StartsWith('!') ? "^" + Regex.Escape(set[1..]) : Regex.Escape(set)).Append(']');
                    i = close;
                    break;
                case '{':
                    braces++;
                    regex.Append("(?:");
                    break;
                case '}' when braces > 0:
                    braces--;
                    regex.Append(')');
                    break;
                case ',' when braces > 0:
                    regex.Append('|');
                    break;
                default:
                    regex.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }

        regex.Append('$');
        var text = regex.ToString();
        try
        {
            return new EditorConfigGlob(pattern, new Regex(text, RegexOptions.CultureInvariant));
        }
        catch (ArgumentException)
        {
            // An unbalanced brace: match the pattern literally rather than fail the scan.
            return new EditorConfigGlob(pattern, new Regex("^" + Regex.Escape(glob) + "$", RegexOptions.CultureInvariant));
        }
    }

    /// <summary>Matches a path relative to the .editorconfig's folder, with '/' separators.</summary>
    public bool IsMatch(string relativePath) => !relativePath.StartsWith("../", StringComparison.Ordinal) && _regex.IsMatch(relativePath);
}
