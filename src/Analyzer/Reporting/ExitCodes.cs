using Pelint.Engine;
using Pelint.Rules;

namespace Pelint.Reporting;

/// <summary>pelint's exit codes, the contract a CI gate relies on (documented in README and --help).</summary>
public static class ExitCodes
{
    /// <summary>No result at or above the fail level.</summary>
    public const int Success = 0;

    /// <summary>At least one result at or above the fail level.</summary>
    public const int ResultsAtFailLevel = 1;

    /// <summary>The command line could not be understood, or a file it names (--config, --baseline, -o) cannot be used.</summary>
    public const int UsageError = 2;

    /// <summary>Something was not analyzed, or not completely: the gate cannot vouch for it.</summary>
    public const int InputNotAnalyzed = 3;

    /// <summary>Stopped by SIGINT (Ctrl-C), as shells report it.</summary>
    public const int Interrupted = 130;

    public const string HelpText =
        "Exit codes: 0 = no result at or above --fail-level; 1 = at least one; 2 = usage error (an option value, " +
        "or a file named by --config, --baseline or -o that cannot be used); 3 = the analysis is incomplete: an input " +
        "could not be analyzed, a file's analysis stopped (time budget, rule failure), or no PE image was scanned " +
        "(unless --allow-empty). The results found are still written; 3 wins over 1.";
}

/// <summary>How many files a scan analyzed, skipped, failed on or analyzed only in part.</summary>
public sealed record ScanSummary(int Analyzed, int Skipped, int Failed, int Incomplete)
{
    /// <summary>Counts the reports; a file is incomplete when an error-level notification (PEL0003, PEL0004) says so.</summary>
    public static ScanSummary Of(IReadOnlyList<FileReport> reports, IReadOnlyList<ToolNotification> inputProblems)
    {
        ArgumentNullException.ThrowIfNull(reports);
        ArgumentNullException.ThrowIfNull(inputProblems);
        return new ScanSummary(
            reports.Count(r => r.Status == FileStatus.Analyzed),
            reports.Count(r => r.Status == FileStatus.Skipped),
            reports.Count(r => r.Status == FileStatus.Failed) + inputProblems.Count(n => n.Level == Level.Error),
            reports.Count(IsIncomplete));
    }

    public static bool IsIncomplete(FileReport report) =>
        report.Status == FileStatus.Analyzed && report.Notifications.Any(n => n.Level == Level.Error);
}

/// <summary>Maps a scan's outcome to an exit code.</summary>
public static class ExitCodePolicy
{
    /// <summary>
    /// The gate: 3 when anything was not analyzed, not completely, or nothing was (unless
    /// <paramref name="allowEmpty"/>); else 1 when a counted result (every result, before any cap;
    /// with a baseline, those the gate counts) is at or above the fail level; else 0.
    /// </summary>
    public static int Decide(ScanSummary summary, Level? failLevel, IEnumerable<Level> countedLevels, bool allowEmpty = false)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(countedLevels);
        if (summary.Failed > 0 || summary.Incomplete > 0 || (summary.Analyzed == 0 && !allowEmpty))
        {
            return ExitCodes.InputNotAnalyzed;
        }

        if (failLevel is not { } threshold)
        {
            return ExitCodes.Success;
        }

        return countedLevels.Any(l => l != Level.None && l >= threshold) ? ExitCodes.ResultsAtFailLevel : ExitCodes.Success;
    }
}
