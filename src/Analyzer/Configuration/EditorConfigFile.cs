namespace Pelint.Configuration;

/// <summary>One key = value line of an .editorconfig section, with its line for notifications.</summary>
public sealed record EditorConfigEntry(string Key, string Value, int Line);

/// <summary>A [glob] section; the preamble (keys before any section) has a null glob.</summary>
public sealed record EditorConfigSection(EditorConfigGlob? Glob, IReadOnlyList<EditorConfigEntry> Entries);

/// <summary>What is wrong with a line of an .editorconfig file (reported as PEL0100; the line is ignored).</summary>
public sealed record EditorConfigProblem(int Line, string Message);

/// <summary>A parsed .editorconfig file: whether it is a root, its sections in file order, and what could not be read.</summary>
public sealed record EditorConfigFile(string Path, bool IsRoot, IReadOnlyList<EditorConfigSection> Sections)
{
    public IReadOnlyList<EditorConfigProblem> Problems { get; init; } = [];

    public string Directory => System.IO.Path.GetDirectoryName(Path) ?? "/";

    public static EditorConfigFile Parse(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var problems = new List<EditorConfigProblem>();
        if (text.Contains('\0', StringComparison.Ordinal))
        {
            problems.Add(new EditorConfigProblem(0, "the file holds NUL bytes: it is not a text file; ignored"));
            return new EditorConfigFile(path, false, []) { Problems = problems };
        }

        var sections = new List<EditorConfigSection>();
        var entries = new List<EditorConfigEntry>();
        EditorConfigGlob? glob = null;
        var isRoot = false;
        var lineNumber = 0;
        var unreadable = 0;
        foreach (var raw in text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line[0] == '[')
            {
                sections.Add(new EditorConfigSection(glob, entries));
                entries = [];
                if (line[^1] != ']')
                {
                    // Its keys must not fall into the section above: they belong to a section that matches nothing.
                    problems.Add(new EditorConfigProblem(lineNumber, $"the section header '{Shorten(line)}' is not closed with ']'; the keys below it, up to the next section, are ignored"));
                    glob = EditorConfigGlob.Never(line[1..]);
                    continue;
                }

                glob = EditorConfigGlob.Compile(line[1..^1]);
                if (glob.IsInvalid)
                {
                    problems.Add(new EditorConfigProblem(lineNumber, $"the section header is over {EditorConfigGlob.MaxPatternLength:N0} characters; the keys below it are ignored"));
                }

                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                if (unreadable++ == 0)
                {
                    problems.Add(new EditorConfigProblem(lineNumber, $"'{Shorten(line)}' is neither a [section], a key = value nor a comment; ignored"));
                }

                continue;
            }

            // Keys are case-insensitive in the editorconfig specification; values are compared lower-case.
            var key = line[..equals].Trim();
            var value = StripComment(line[(equals + 1)..]).Trim();
            if (glob is null && key.Equals("root", StringComparison.OrdinalIgnoreCase))
            {
                isRoot = value.Equals("true", StringComparison.OrdinalIgnoreCase);
                continue;
            }

            entries.Add(new EditorConfigEntry(key, value, lineNumber));
        }

        if (unreadable > 1)
        {
            problems.Add(new EditorConfigProblem(0, $"{unreadable - 1:N0} more lines are neither a [section], a key = value nor a comment; ignored"));
        }

        sections.Add(new EditorConfigSection(glob, entries));
        return new EditorConfigFile(path, isRoot, [.. sections.Where(s => s.Entries.Count > 0)]) { Problems = problems };
    }

    private static string Shorten(string line) => line.Length <= 60 ? line : line[..57] + "...";

    /// <summary>
    /// Entries that apply to a file, in file order (later ones win). An explicit --config file
    /// (<paramref name="anywhere"/>) applies to files outside its folder too: there its globs
    /// without '/' ([*], [*.dll]) match the file name, as users of a global config expect.
    /// </summary>
    public IEnumerable<EditorConfigEntry> EntriesFor(string fullPath, bool preambleApplies, bool anywhere = false)
    {
        var relative = System.IO.Path.GetRelativePath(Directory, fullPath).Replace('\\', '/');
        if (anywhere && (relative.StartsWith("../", StringComparison.Ordinal) || System.IO.Path.IsPathRooted(relative)))
        {
            relative = System.IO.Path.GetFileName(fullPath);
        }

        foreach (var section in Sections)
        {
            var applies = section.Glob is null ? preambleApplies : section.Glob.IsMatch(relative);
            if (applies)
            {
                foreach (var entry in section.Entries)
                {
                    yield return entry;
                }
            }
        }
    }

    // Inline comments start with " #" or " ;" (a bare '#' may be part of a value).
    private static string StripComment(string value)
    {
        for (var i = 1; i < value.Length; i++)
        {
            if (value[i] is '#' or ';' && char.IsWhiteSpace(value[i - 1]))
            {
                return value[..i];
            }
        }

        return value;
    }
}
