using System.Globalization;
using Pelint.Rules;
using Pelint.Sarif;

namespace Pelint.Reporting;

/// <summary>Console output style: colours only on a terminal that wants them; lines wrapped to its width.</summary>
public sealed record ConsoleStyle(bool Color, int Width = 0)
{
    public static readonly ConsoleStyle Plain = new(false);

    public string Paint(string text, string ansi) => Color ? $"\u001b[{ansi}m{text}\u001b[0m" : text;

    public string Level(string? level) => level switch
    {
        "error" => Paint("error  ", "1;31"),
        "warning" or null => Paint("warning", "1;33"),
        "note" => Paint("note   ", "1;36"),
        _ => Paint("none   ", "2"),
    };

    public string Dim(string text) => Paint(text, "2");

    public string Bold(string text) => Paint(text, "1");
}

/// <summary>
/// The human report, rendered from the same SARIF log that -o writes and --format json prints
/// (after the baseline and the result cap), so the three never disagree: per file, results by
/// rule with their place (function, RVA, file offset) and related locations, then the file's
/// notifications; then the other notifications and a summary. A file with many results shows a
/// count per rule and the first few of each; whatever is not shown is counted and left to the
/// SARIF log. Every name and message is escaped (<see cref="ConsoleText"/>).
/// </summary>
public static class ConsoleReport
{
    /// <summary>Past this many results in one file, each rule shows its count and its first <see cref="ShownPerRule"/>.</summary>
    public const int ManyResults = 20;

    public const int ShownPerRule = 5;

    /// <summary>Related locations shown under a result; the rest are counted.</summary>
    public const int ShownRelated = 5;

    public static void Write(TextWriter writer, SarifLog log, ScanSummary summary, RuleCatalog catalog, ConsoleStyle style, string? outputPath = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(style);
        var run = log.Runs[0];
        var sarifHint = outputPath is null ? "write the SARIF log with -o FILE to see them" : "see the SARIF log";
        var notifications = (run.Invocations ?? []).SelectMany(i => (i.ToolExecutionNotifications ?? []).Concat(i.ToolConfigurationNotifications ?? [])).ToList();
        var byLevel = new Dictionary<string, int>(StringComparer.Ordinal);
        var absent = 0;

        var files = run.Results.GroupBy(r => ArtifactOf(r.Locations?.FirstOrDefault()?.PhysicalLocation?.ArtifactLocation), StringComparer.Ordinal)
            .Select(g => (Key: g.Key, Results: g.ToList())).ToList();
        var fileNotifications = notifications.Where(n => FileKey(n) is not null).GroupBy(n => FileKey(n)!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var keys = run.Artifacts?.Where(a => a.Location is not null).Select(a => ArtifactOf(a.Location)).ToList() ?? [];
        foreach (var key in files.Select(f => f.Key).Concat(fileNotifications.Keys))
        {
            if (!keys.Contains(key, StringComparer.Ordinal))
            {
                keys.Add(key);
            }
        }

        foreach (var key in keys)
        {
            var results = files.FirstOrDefault(f => f.Key == key).Results ?? [];
            var fileNotes = fileNotifications.GetValueOrDefault(key) ?? [];
            if (results.Count == 0 && fileNotes.Count == 0)
            {
                continue;
            }

            writer.WriteLine(style.Bold(ConsoleText.Escape(DisplayName(key))));
            var many = results.Count > ManyResults;
            foreach (var group in results.GroupBy(r => r.RuleId, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var rule = catalog.Find(group.Key);
                var name = rule?.Name ?? string.Empty;
                var list = group.ToList();
                var shown = many ? list.Take(ShownPerRule).ToList() : list;
                if (many)
                {
                    var worst = list.OrderByDescending(r => ResultCap.SeverityRank(r.Level)).First().Level;
                    var fixedNow = list.Count(r => r.BaselineState == "absent");
                    WriteWrapped(writer, style, $"  {style.Level(worst)} ", 10,
                        $"{ConsoleText.Escape(group.Key)} {name}: {list.Count:N0} results" + (fixedNow > 0 ? $" ({fixedNow:N0} absent since the baseline)" : string.Empty) +
                        (list.Count > shown.Count ? $"; the first {shown.Count} (the other {list.Count - shown.Count:N0}: {sarifHint}):" : ":"));
                }

                foreach (var result in list)
                {
                    if (result.BaselineState == "absent")
                    {
                        absent++;
                    }
                    else
                    {
                        var level = result.Level ?? "warning";
                        byLevel[level] = byLevel.GetValueOrDefault(level) + 1;
                    }
                }

                foreach (var result in shown)
                {
                    WriteResult(writer, style, result, name, many ? 4 : 2, sarifHint);
                }
            }

            foreach (var n in fileNotes)
            {
                WriteWrapped(writer, style, $"  {style.Level(n.Level)} ", 10, $"{ConsoleText.Escape(n.Descriptor?.Id)} {ConsoleText.Escape(n.Message.Text)}");
            }
        }

        foreach (var n in notifications.Where(n => FileKey(n) is null))
        {
            WriteWrapped(writer, style, $"{style.Level(n.Level)} ", 8, $"{ConsoleText.Escape(n.Descriptor?.Id)} {ConsoleText.Escape(n.Message.Text)}");
        }

        if (summary.Analyzed == 0)
        {
            writer.WriteLine("No PE image was scanned: nothing was checked.");
        }

        int Count(string level) => byLevel.GetValueOrDefault(level);
        writer.WriteLine();
        writer.WriteLine(style.Bold("  files   scanned  skipped  failed  incomplete   results   error  warning  note  none  absent"));
        writer.WriteLine(string.Format(CultureInfo.InvariantCulture, "          {0,7}  {1,7}  {2,6}  {3,10}             {4,5}  {5,7}  {6,4}  {7,4}  {8,6}",
            summary.Analyzed, summary.Skipped, summary.Failed, summary.Incomplete, Count("error"), Count("warning"), Count("note"), Count("none"), absent));
        writer.WriteLine(string.Format(CultureInfo.InvariantCulture,
            "{0} file{1} scanned, {2} skipped (not PE), {3} failed{4}: {5} error{6}, {7} warning{8}, {9} note{10}.",
            summary.Analyzed, summary.Analyzed == 1 ? string.Empty : "s", summary.Skipped, summary.Failed,
            summary.Incomplete > 0 ? $", {summary.Incomplete} incomplete" : string.Empty,
            Count("error"), Count("error") == 1 ? string.Empty : "s", Count("warning"), Count("warning") == 1 ? string.Empty : "s",
            Count("note"), Count("note") == 1 ? string.Empty : "s"));
    }

    private static void WriteResult(TextWriter writer, ConsoleStyle style, SarifResult result, string ruleName, int indent, string sarifHint)
    {
        var location = result.Locations?.FirstOrDefault();
        var state = result.BaselineState is { } s and not "new" ? $" ({s})" : string.Empty;
        var prefix = new string(' ', indent) + style.Level(result.BaselineState == "absent" ? "none" : result.Level) + " ";
        WriteWrapped(writer, style, prefix, indent + 8,
            $"{ConsoleText.Escape(result.RuleId)} {ruleName}: {ConsoleText.Escape(result.Message.Text)}{Place(location, result)}{state}");
        var related = result.RelatedLocations ?? [];
        foreach (var r in related.Take(ShownRelated))
        {
            WriteWrapped(writer, style, new string(' ', indent + 8) + "- ", indent + 10, ConsoleText.Escape(r.Message?.Text ?? "related location"));
        }

        if (related.Count > ShownRelated)
        {
            WriteWrapped(writer, style, new string(' ', indent + 8) + "- ", indent + 10, $"and {related.Count - ShownRelated:N0} more related locations: {sarifHint}");
        }
    }

    private static void WriteWrapped(TextWriter writer, ConsoleStyle style, string prefix, int prefixWidth, string text)
    {
        if (style.Width <= prefixWidth + 20)
        {
            writer.WriteLine(prefix + text);
            return;
        }

        var lines = ConsoleText.Wrap(text, style.Width - prefixWidth, style.Width - prefixWidth).ToList();
        writer.WriteLine(prefix + lines[0]);
        foreach (var line in lines.Skip(1))
        {
            writer.WriteLine(new string(' ', prefixWidth) + line);
        }
    }

    private static string Place(Location? location, SarifResult result)
    {
        var parts = new List<string>();
        if (location?.LogicalLocations?.FirstOrDefault()?.Name is { } function)
        {
            parts.Add(ConsoleText.Escape(function));
        }

        if (result.Properties?["rva"] is { } rva)
        {
            parts.Add("RVA " + ConsoleText.Escape(rva.ToString()));
        }

        if (location?.PhysicalLocation?.Region?.ByteOffset is { } offset)
        {
            parts.Add($"offset 0x{offset:X}");
        }

        return parts.Count == 0 ? string.Empty : $" [{string.Join(", ", parts)}]";
    }

    private static string ArtifactOf(ArtifactLocation? location) => location is null ? string.Empty : ResultReindex.Key(location);

    private static string? FileKey(Notification n) =>
        n.Locations?.FirstOrDefault()?.PhysicalLocation?.ArtifactLocation is { } a && a.Uri is not null ? ResultReindex.Key(a) : null;

    // "%SRCROOT%|bin/a%20b.dll" -> "bin/a b.dll"; an absolute file: URI -> its path.
    private static string DisplayName(string key)
    {
        var uri = key[(key.IndexOf('|', StringComparison.Ordinal) + 1)..];
        if (uri.StartsWith("file://", StringComparison.Ordinal))
        {
            uri = uri["file://".Length..];
        }

        return uri.Length == 0 ? "(no file)" : Uri.UnescapeDataString(uri);
    }
}
