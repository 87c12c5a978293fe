using System.Collections.Concurrent;
using Pelint.Engine;
using Pelint.Pe.IO;
using Pelint.Rules;

namespace Pelint.Configuration;

/// <summary>
/// The suppressions that apply to scanned files: every <c>.pelint/suppressions.json</c> found
/// walking up from a file's folder, plus an explicit <c>--suppressions FILE</c> (which also
/// applies to files outside its folder: its globs without '/' then match the file name). Each
/// file is read once. It remembers which entries matched a result and which entries' globs
/// matched a scanned file, so an entry that could have matched and did not is reported stale.
/// </summary>
public sealed class SuppressionSet
{
    private readonly RuleCatalog _catalog;
    private readonly SuppressionFile? _explicit;
    private readonly ConcurrentDictionary<string, SuppressionFile?> _fileByDirectory = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<SuppressionFile>> _chainByDirectory = new(StringComparer.Ordinal);
    private readonly HashSet<SuppressionEntry> _used = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<SuppressionEntry, int> _filesMatched = new(ReferenceEqualityComparer.Instance);

    public SuppressionSet(RuleCatalog catalog, string? explicitPath = null)
    {
        _catalog = catalog;
        if (explicitPath is not null)
        {
            _explicit = SuppressionFile.Read(Path.GetFullPath(explicitPath), catalog);
        }
    }

    /// <summary>Every suppressions file read so far, the explicit one first, then in the order they were found.</summary>
    public IReadOnlyList<SuppressionFile> Files =>
        [.. (_explicit is null ? [] : new[] { _explicit }).Concat(_fileByDirectory.Values.OfType<SuppressionFile>().OrderBy(f => f.Path, StringComparer.Ordinal))];

    /// <summary>Problems in the files read (PEL0100), by file and line.</summary>
    public IReadOnlyList<ToolNotification> Problems =>
        [.. Files.SelectMany(f => f.Problems.Select(p => new ToolNotification(ToolNotification.Configuration, Level.Warning,
            p.Line > 0 ? $"{f.Path}({p.Line}): {p.Message}" : $"{f.Path}: {p.Message}", f.Path)))];

    /// <summary>
    /// The entries that apply to one scanned file (its globs match the file), in precedence order:
    /// the explicit file, then the nearest file first. Counts the file for stale detection.
    /// </summary>
    public IReadOnlyList<SuppressionEntry> EntriesFor(string path)
    {
        var full = Path.GetFullPath(path);
        var matched = new List<SuppressionEntry>();
        var files = new List<(SuppressionFile File, bool Anywhere)>();
        if (_explicit is not null)
        {
            files.Add((_explicit, true));
        }

        files.AddRange(ChainFor(Path.GetDirectoryName(full) ?? "/").Reverse().Select(f => (f, false)));
        foreach (var (file, anywhere) in files)
        {
            var relative = Path.GetRelativePath(file.BaseDirectory, full).Replace('\\', '/');
            if (anywhere && (relative.StartsWith("../", StringComparison.Ordinal) || Path.IsPathRooted(relative)))
            {
                relative = Path.GetFileName(full);
            }

            foreach (var entry in file.Entries)
            {
                if (entry.Files.IsMatch(relative))
                {
                    matched.Add(entry);
                    lock (_filesMatched)
                    {
                        _filesMatched[entry] = _filesMatched.GetValueOrDefault(entry) + 1;
                    }
                }
            }
        }

        return matched;
    }

    /// <summary>The first of <paramref name="entries"/> that suppresses a result of this rule at this function with this fingerprint.</summary>
    public SuppressionEntry? Match(IReadOnlyList<SuppressionEntry> entries, string ruleId, string? function, string? fingerprint)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var entry in entries)
        {
            if (entry.RuleId == ruleId
                && (entry.Function is null || string.Equals(entry.Function, function, StringComparison.Ordinal))
                && (entry.Fingerprint is null || string.Equals(entry.Fingerprint, fingerprint, StringComparison.OrdinalIgnoreCase)))
            {
                lock (_used)
                {
                    _used.Add(entry);
                }

                return entry;
            }
        }

        return null;
    }

    /// <summary>
    /// Entries whose globs matched at least one scanned file but that suppressed no result: the
    /// finding they were written for is gone (or the entry is wrong). Entries whose globs matched
    /// no scanned file are not judged, since a partial scan or a shard cannot tell.
    /// </summary>
    public IReadOnlyList<(SuppressionEntry Entry, int FilesMatched)> Stale()
    {
        lock (_used)
        {
            lock (_filesMatched)
            {
                return [.. Files.SelectMany(f => f.Entries)
                    .Where(e => _filesMatched.ContainsKey(e) && !_used.Contains(e))
                    .Select(e => (e, _filesMatched[e]))];
            }
        }
    }

    /// <summary>The suppressions files that apply in a folder, outermost first.</summary>
    private IReadOnlyList<SuppressionFile> ChainFor(string directory)
    {
        lock (_chainByDirectory)
        {
            if (_chainByDirectory.TryGetValue(directory, out var known))
            {
                return known;
            }
        }

        var own = _fileByDirectory.GetOrAdd(directory, d =>
        {
            var candidate = Path.Combine(d, SuppressionFile.FolderName, SuppressionFile.FileName);
            return HostFiles.KindOf(candidate) == FileKind.Missing || (_explicit is not null && _explicit.Path == candidate)
                ? null
                : SuppressionFile.Read(candidate, _catalog);
        });
        var parent = Path.GetDirectoryName(directory);
        IReadOnlyList<SuppressionFile> chain = parent is null ? [] : ChainFor(parent);
        if (own is not null)
        {
            chain = [.. chain, own];
        }

        lock (_chainByDirectory)
        {
            _chainByDirectory[directory] = chain;
        }

        return chain;
    }
}
