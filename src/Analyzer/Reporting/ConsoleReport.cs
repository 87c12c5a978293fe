using System.Globalization;
using Pelint.Engine;
using Pelint.Rules;

namespace Pelint.Reporting;

/// <summary>Console output style: colours only on a terminal that wants them.</summary>
public sealed record ConsoleStyle(bool Color)
{
    public static readonly ConsoleStyle Plain = new(false);

    public string Paint(string text, string ansi) => Color ? $"\u001b[{ansi}m{text}\u001b[0m" : text;

    public string Level(Level level) => level switch
    {
        Rules.Level.Error => Paint("error  ", "1;31"),
        Rules.Level.Warning => Paint("warning", "1;33"),
        Rules.Level.Note => Paint("note   ", "1;36"),
        _ => Paint("none   ", "2"),
    };

    public string Dim(string text) => Paint(text, "2");

    public string Bold(string text) => Paint(text, "1");
}

/// <summary>
/// The human report: per file, results grouped by rule with their place (function, RVA, file
/// offset), then tool notifications and a summary. Same input, same text, whatever the
/// parallelism of the scan.
/// </summary>
public static class ConsoleReport
{
    public static void Write(TextWriter writer, IReadOnlyList<FileReport> reports, IReadOnlyList<ToolNotification> otherNotifications, ConsoleStyle style, string? baseDirectory = null)
    {
        var analyzed = 0;
        var skipped = 0;
        var failed = 0;
        var byLevel = new int[4];
        foreach (var report in reports)
        {
            switch (report.Status)
            {
                case FileStatus.Skipped:
                    skipped++;
                    continue;
                case FileStatus.Failed:
                    failed++;
                    break;
                default:
                    analyzed++;
                    break;
            }

            if (report.Results.Count == 0 && report.Notifications.Count == 0)
            {
                continue;
            }

            writer.WriteLine(style.Bold(Display(report.Path, baseDirectory)) + (report.Machine is { } m ? style.Dim($" ({m})") : string.Empty));
            foreach (var group in report.Results.GroupBy(r => r.Rule.Id).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                foreach (var result in group)
                {
                    byLevel[(int)result.Level]++;
                    writer.WriteLine($"  {style.Level(result.Level)} {result.Rule.Id} {style.Dim(result.Rule.Name)}: {result.Message}{Place(result.Finding.Location, style)}");
                }
            }

            foreach (var n in report.Notifications)
            {
                writer.WriteLine($"  {style.Level(n.Level)} {n.Id} {n.Message}");
            }
        }

        foreach (var n in otherNotifications)
        {
            writer.WriteLine($"{style.Level(n.Level)} {n.Id} {n.Message}");
        }

        WriteTable(writer, style, analyzed, skipped, failed + otherNotifications.Count(n => n.Level == Level.Error), byLevel);
        writer.WriteLine(string.Format(CultureInfo.InvariantCulture,
            "{0} file{1} scanned, {2} skipped (not PE), {3} failed: {4} error{5}, {6} warning{7}, {8} note{9}.",
            analyzed, analyzed == 1 ? string.Empty : "s", skipped, failed + otherNotifications.Count(n => n.Level == Level.Error),
            byLevel[3], byLevel[3] == 1 ? string.Empty : "s", byLevel[2], byLevel[2] == 1 ? string.Empty : "s", byLevel[1], byLevel[1] == 1 ? string.Empty : "s"));
    }

    // The summary table; the one-line summary after it stays the last line, for scripts that tail it.
    private static void WriteTable(TextWriter writer, ConsoleStyle style, int analyzed, int skipped, int failed, int[] byLevel)
    {
        writer.WriteLine();
        writer.WriteLine(style.Bold("  files   scanned  skipped  failed   results   error  warning  note  none"));
        writer.WriteLine(string.Format(CultureInfo.InvariantCulture, "          {0,7}  {1,7}  {2,6}             {3,5}  {4,7}  {5,4}  {6,4}",
            analyzed, skipped, failed, byLevel[3], byLevel[2], byLevel[1], byLevel[0]));
    }

    private static string Place(FindingLocation l, ConsoleStyle style)
    {
        var parts = new List<string>();
        if (l.Function is { } f)
        {
            parts.Add(f);
        }

        if (l.Rva is { } rva)
        {
            parts.Add($"RVA 0x{rva:X}");
        }

        if (l.FileOffset is { } offset)
        {
            parts.Add($"offset 0x{offset:X}");
        }

        return parts.Count == 0 ? string.Empty : style.Dim($" [{string.Join(", ", parts)}]");
    }

    private static string Display(string path, string? baseDirectory)
    {
        if (baseDirectory is null)
        {
            return path;
        }

        var relative = Path.GetRelativePath(baseDirectory, Path.GetFullPath(path));
        return relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
    }
}
