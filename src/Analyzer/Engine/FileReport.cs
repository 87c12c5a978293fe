using Pelint.Rules;

namespace Pelint.Engine;

/// <summary>A finding with the level it is reported at after configuration.</summary>
public sealed record Result(Finding Finding, Level Level, RuleDescriptor Rule, string? Path = null)
{
    /// <summary>SARIF baselineState once compared with a baseline (new, unchanged, updated, absent).</summary>
    public string? BaselineState { get; init; }

    public string Message => Rule.FormatMessage(Finding.MessageId, Finding.Arguments);
}

public enum FileStatus
{
    Analyzed,
    /// <summary>Not a PE image; skipped quietly when found while walking a folder.</summary>
    Skipped,
    /// <summary>Could not be analyzed at all (unreadable, malformed headers).</summary>
    Failed,
}

/// <summary>A rule that did not run on a file, and why.</summary>
public sealed record RuleSkip(string RuleId, string Reason);

/// <summary>Everything one file produced. Immutable so reports can be merged and ordered freely.</summary>
public sealed record FileReport(
    string Path,
    FileStatus Status,
    IReadOnlyList<Result> Results,
    IReadOnlyList<ToolNotification> Notifications,
    IReadOnlyList<RuleSkip> Skipped)
{
    public string? Machine { get; init; }

    public long FileLength { get; init; }
}
