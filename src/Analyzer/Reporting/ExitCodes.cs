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

    /// <summary>The command line could not be understood.</summary>
    public const int UsageError = 2;

    /// <summary>Some named input could not be analyzed; the other files' results were still written.</summary>
    public const int InputNotAnalyzed = 3;

    public const string HelpText =
        "Exit codes: 0 = no result at or above --fail-level; 1 = at least one; 2 = usage error; " +
        "3 = some named input could not be analyzed (the other files' results are still written; 3 wins over 1).";
}

/// <summary>Maps a scan's outcome to an exit code.</summary>
public static class ExitCodePolicy
{
    public static int Decide(IReadOnlyList<FileReport> reports, IReadOnlyList<ToolNotification> inputProblems, Level? failLevel, Func<Result, bool>? counts = null)
    {
        if (inputProblems.Any(n => n.Level == Level.Error) || reports.Any(r => r.Status == FileStatus.Failed))
        {
            return ExitCodes.InputNotAnalyzed;
        }

        if (failLevel is not { } threshold)
        {
            return ExitCodes.Success;
        }

        counts ??= _ => true;
        var failing = reports.SelectMany(r => r.Results).Any(r => r.Level != Level.None && r.Level >= threshold && counts(r));
        return failing ? ExitCodes.ResultsAtFailLevel : ExitCodes.Success;
    }

    /// <summary>As <see cref="Decide(IReadOnlyList{FileReport}, IReadOnlyList{ToolNotification}, Level?, Func{Result, bool}?)"/>,
    /// judging the levels of the results that count (e.g. only those new since a baseline).</summary>
    public static int Decide(IReadOnlyList<FileReport> reports, IReadOnlyList<ToolNotification> inputProblems, Level? failLevel, IEnumerable<Level> countedLevels)
    {
        var withoutResults = Decide(reports, inputProblems, failLevel, _ => false);
        if (withoutResults != ExitCodes.Success || failLevel is not { } threshold)
        {
            return withoutResults;
        }

        return countedLevels.Any(l => l != Level.None && l >= threshold) ? ExitCodes.ResultsAtFailLevel : ExitCodes.Success;
    }
}
