using System.Collections.Concurrent;
using System.Globalization;
using Pelint.Engine;
using Pelint.Pe.IO;
using Pelint.Rules;

namespace Pelint.Configuration;

/// <summary>
/// Rule levels from .editorconfig files, the .NET way: the files found walking up from each
/// scanned file (stopping at <c>root = true</c>), after an optional explicit <c>--config</c> file
/// (lowest precedence, like a .globalconfig). Per rule, <c>dotnet_diagnostic.&lt;ID or name&gt;.severity</c>
/// beats <c>dotnet_analyzer_diagnostic.category-&lt;Category&gt;.severity</c> beats
/// <c>dotnet_analyzer_diagnostic.severity</c>; within one kind the nearer file and the later line win.
/// Parsed files are cached per folder so thousands of files cost one read per folder.
/// </summary>
public sealed class EditorConfigPolicy : ISeverityPolicy
{
    /// <summary>Configuration notifications per file; past them, one notification says how many more there were.</summary>
    public const int MaxNotificationsPerFile = 100;

    private readonly RuleCatalog _catalog;
    private readonly EditorConfigFile? _explicit;
    // Lazy: GetOrAdd may run its factory on two threads at once, and a file is read (and its problems reported) once.
    private readonly ConcurrentDictionary<string, Lazy<EditorConfigFile?>> _fileByDirectory = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlyList<EditorConfigFile>> _chainByDirectory = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, FileSettings> _settingsByPath = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Path, int Line, string Message), ToolNotification> _notifications = new();

    public EditorConfigPolicy(RuleCatalog catalog, string? explicitConfigPath = null)
    {
        _catalog = catalog;
        if (explicitConfigPath is not null)
        {
            var full = Path.GetFullPath(explicitConfigPath);
            _explicit = Read(full, explicitFile: true);
        }
    }

    /// <summary>Configuration problems met so far (bad values, unknown rules), in path and line order.</summary>
    public IReadOnlyList<ToolNotification> Notifications =>
        [.. _notifications.OrderBy(n => n.Key.Path, StringComparer.Ordinal).ThenBy(n => n.Key.Line).ThenBy(n => n.Key.Message, StringComparer.Ordinal).Select(n => n.Value)];

    public Level? LevelFor(RuleDescriptor rule, string path)
    {
        var settings = _settingsByPath.GetOrAdd(Path.GetFullPath(path), Resolve);
        Level? fallback = rule.EnabledByDefault ? rule.DefaultLevel : null;
        if (settings.ByRule.TryGetValue(rule.Id, out var byRule))
        {
            return byRule.ToLevel(rule);
        }

        // Bulk settings only affect rules that are on by default, as in .NET: turning an opt-in rule
        // on takes its ID or name.
        if (!rule.EnabledByDefault)
        {
            return fallback;
        }

        if (settings.ByCategory.TryGetValue(rule.Category, out var byCategory))
        {
            return byCategory.ToLevel(rule);
        }

        return settings.Global is { } global ? global.ToLevel(rule) : fallback;
    }

    private FileSettings Resolve(string fullPath)
    {
        var settings = new FileSettings();
        if (_explicit is not null)
        {
            Apply(settings, _explicit.EntriesFor(fullPath, preambleApplies: true, anywhere: true));
        }

        foreach (var file in ChainFor(Path.GetDirectoryName(fullPath) ?? "/"))
        {
            Apply(settings, file.EntriesFor(fullPath, preambleApplies: false));
        }

        return settings;
    }

    /// <summary>The .editorconfig files that apply in a folder, outermost first.</summary>
    private IReadOnlyList<EditorConfigFile> ChainFor(string directory) => _chainByDirectory.GetOrAdd(directory, dir =>
    {
        var own = _fileByDirectory.GetOrAdd(dir, d => new(() => Read(Path.Combine(d, ".editorconfig"), explicitFile: false))).Value;
        var parent = Path.GetDirectoryName(dir);
        IReadOnlyList<EditorConfigFile> outer = own is { IsRoot: true } || parent is null ? [] : ChainFor(parent);
        return own is null ? outer : [.. outer, own];
    });

    private EditorConfigFile? Read(string path, bool explicitFile)
    {
        try
        {
            var kind = HostFiles.KindOf(path);
            if (kind == FileKind.Missing)
            {
                return Missing(path, explicitFile);
            }

            // Only a regular file is read: an .editorconfig that is a FIFO would block the scan.
            using var stream = HostFiles.OpenRegular(path);
            using var reader = new StreamReader(stream, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            return Validate(EditorConfigFile.Parse(path, reader.ReadToEnd()), explicitFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Report(path, 0, $"{path}: cannot read the configuration file: {e.Message}");
            return null;
        }
    }

    private EditorConfigFile? Missing(string path, bool explicitFile)
    {
        if (explicitFile)
        {
            Report(path, 0, $"{path}: configuration file not found; default rule levels apply");
        }

        return null;
    }

    private void Apply(FileSettings settings, IEnumerable<EditorConfigEntry> entries)
    {
        // Only entries that set a level are left (Validate): the others were reported when read.
        foreach (var entry in entries)
        {
            if (Classify(entry.Key) is not { } key || !Severity.TryParse(entry.Value, out var severity))
            {
                continue;
            }

            switch (key.Kind)
            {
                case KeyKind.Rule when _catalog.Find(key.Name) is { } rule:
                    settings.ByRule[rule.Id] = severity;
                    break;
                case KeyKind.Category:
                    settings.ByCategory[key.Name] = severity;
                    break;
                case KeyKind.Global:
                    settings.Global = severity;
                    break;
            }
        }
    }

    /// <summary>
    /// Reports a file's problems once: the lines it could not read, then its bad entries in line
    /// order, at most <see cref="MaxNotificationsPerFile"/> in all, then one notification counting
    /// the rest (a generated or hostile file can have millions of bad lines). Returns the file with only the entries that set a level, so each
    /// scanned file's settings are resolved from those alone. A .editorconfig's keys before its
    /// first section apply nowhere and are neither checked nor kept.
    /// </summary>
    private EditorConfigFile Validate(EditorConfigFile file, bool explicitFile)
    {
        var problems = 0;
        foreach (var problem in file.Problems)
        {
            if (++problems <= MaxNotificationsPerFile)
            {
                Report(file.Path, problem.Line, problem.Line > 0 ? $"{file.Path}({problem.Line}): {problem.Message}" : $"{file.Path}: {problem.Message}");
            }
        }

        var kept = new List<EditorConfigSection>();
        foreach (var section in file.Sections)
        {
            if (section.Glob is null && !explicitFile)
            {
                continue;
            }

            var entries = new List<EditorConfigEntry>();
            foreach (var entry in section.Entries)
            {
                var verdict = Judge(entry, explicitFile);
                if (verdict == Verdict.SetsLevel)
                {
                    entries.Add(entry);
                }
                else if (verdict != Verdict.NotOurs && ++problems <= MaxNotificationsPerFile)
                {
                    Report(file.Path, entry.Line, Describe(file, entry, verdict));
                }
            }

            if (entries.Count > 0)
            {
                kept.Add(section with { Entries = entries });
            }
        }

        if (problems > MaxNotificationsPerFile)
        {
            Report(file.Path, int.MaxValue,
                $"{file.Path}: {(problems - MaxNotificationsPerFile).ToString(CultureInfo.InvariantCulture)} more configuration problems were not reported (the first {MaxNotificationsPerFile.ToString(CultureInfo.InvariantCulture)} are)");
        }

        return file with { Sections = kept };
    }

    private Verdict Judge(EditorConfigEntry entry, bool explicitFile)
    {
        if (Classify(entry.Key) is not { } key)
        {
            return Verdict.NotOurs;
        }

        var known = key.Kind switch
        {
            KeyKind.Rule => _catalog.Find(key.Name) is not null,
            KeyKind.Category => _catalog.Rules.Any(r => r.Category.Equals(key.Name, StringComparison.OrdinalIgnoreCase)),
            _ => true,
        };
        if (!Severity.TryParse(entry.Value, out _))
        {
            return key.Kind == KeyKind.Rule && !known && !LooksLikeOurs(key.Name, explicitFile) ? Verdict.NotOurs : Verdict.BadValue;
        }

        return (key.Kind, known) switch
        {
            (_, true) => Verdict.SetsLevel,
            (KeyKind.Rule, false) => LooksLikeOurs(key.Name, explicitFile) ? Verdict.UnknownRule : Verdict.NotOurs,
            _ => explicitFile ? Verdict.UnknownCategory : Verdict.NotOurs,
        };
    }

    private static string Describe(EditorConfigFile file, EditorConfigEntry entry, Verdict verdict)
    {
        var name = Classify(entry.Key)?.Name;
        return verdict switch
        {
            Verdict.BadValue => $"{file.Path}({entry.Line}): '{entry.Value}' is not a severity for {entry.Key} (error, warning, suggestion, silent, none or default); ignored",
            Verdict.UnknownRule => $"{file.Path}({entry.Line}): {entry.Key}: no pelint rule has the ID or name '{name}'; ignored",
            _ => $"{file.Path}({entry.Line}): {entry.Key}: no pelint rule is in category '{name}'; ignored",
        };
    }

    // A repository's .editorconfig also configures the C# compiler's analyzers (CA1000, IDE0005...);
    // only IDs shaped like pelint's (PE1234, kebab-case names) are reported as unknown, unless the
    // user named the file with --config, which is pelint's alone.
    private static bool LooksLikeOurs(string name, bool explicitFile) =>
        explicitFile || name.Contains('-', StringComparison.Ordinal) ||
        (name.Length == 6 && name.StartsWith("pe", StringComparison.OrdinalIgnoreCase) && name[2..].All(char.IsAsciiDigit));

    private void Report(string path, int line, string message) =>
        _notifications.TryAdd((path, line, message), new ToolNotification(ToolNotification.Configuration, Level.Warning, message, path));

    private static (KeyKind Kind, string Name)? Classify(string key)
    {
        // Keys compare case-insensitively; the name keeps the user's spelling for messages.
        var lower = key.ToLowerInvariant();
        const string rulePrefix = "dotnet_diagnostic.";
        const string categoryPrefix = "dotnet_analyzer_diagnostic.category-";
        const string suffix = ".severity";
        if (lower == "dotnet_analyzer_diagnostic.severity")
        {
            return (KeyKind.Global, string.Empty);
        }

        if (!lower.EndsWith(suffix, StringComparison.Ordinal))
        {
            return null;
        }

        if (lower.StartsWith(categoryPrefix, StringComparison.Ordinal))
        {
            return (KeyKind.Category, key[categoryPrefix.Length..^suffix.Length]);
        }

        return lower.StartsWith(rulePrefix, StringComparison.Ordinal) && key.Length > rulePrefix.Length + suffix.Length
            ? (KeyKind.Rule, key[rulePrefix.Length..^suffix.Length])
            : null;
    }

    /// <summary>What an entry is to pelint: another analyzer's, a level it sets, or a problem to report.</summary>
    private enum Verdict
    {
        NotOurs,
        SetsLevel,
        BadValue,
        UnknownRule,
        UnknownCategory,
    }

    private enum KeyKind
    {
        Rule,
        Category,
        Global,
    }

    private sealed class FileSettings
    {
        public Dictionary<string, Severity> ByRule { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, Severity> ByCategory { get; } = new(StringComparer.OrdinalIgnoreCase);

        public Severity? Global { get; set; }
    }
}
