using Pelint.Engine;
using Pelint.Rules;

namespace Pelint.Configuration;

/// <summary>An editorconfig severity value and what it means for a rule's level.</summary>
public enum Severity
{
    Error,
    Warning,
    Suggestion,
    Silent,
    None,
    Default,
}

public static class SeverityExtensions
{
    extension(Severity)
    {
        public static bool TryParse(string text, out Severity severity)
        {
            switch (text.Trim().ToLowerInvariant())
            {
                case "error": severity = Severity.Error; return true;
                case "warning": severity = Severity.Warning; return true;
                case "suggestion": severity = Severity.Suggestion; return true;
                case "silent": severity = Severity.Silent; return true;
                case "none": severity = Severity.None; return true;
                case "default": severity = Severity.Default; return true;
                default: severity = Severity.Default; return false;
            }
        }
    }

    /// <summary>null = the rule does not run; <see cref="Level.None"/> = it runs and reports silently.</summary>
    public static Level? ToLevel(this Severity severity, RuleDescriptor rule) => severity switch
    {
        Severity.Error => Level.Error,
        Severity.Warning => Level.Warning,
        Severity.Suggestion => Level.Note,
        Severity.Silent => Level.None,
        Severity.None => null,
        _ => rule.EnabledByDefault ? rule.DefaultLevel : null,
    };
}
