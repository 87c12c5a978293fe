using Pelint.Rules;

namespace Pelint.Engine;

/// <summary>
/// Tool notifications: things that went wrong with the analysis itself (a file that cannot be
/// read, a rule that failed, a bad configuration value), reported instead of crashing.
/// </summary>
public sealed record ToolNotification(string Id, Level Level, string Message, string? Path = null, string? RuleId = null)
{
    public const string FileUnreadable = "PEL0001";
    public const string FileMalformed = "PEL0002";
    public const string RuleFailed = "PEL0003";
    public const string TimeBudgetExceeded = "PEL0004";
    public const string NotAPeFile = "PEL0005";
    public const string ResultsCapped = "PEL0006";
    public const string NothingScanned = "PEL0007";
    public const string Configuration = "PEL0100";
}
