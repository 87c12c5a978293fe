using Pelint.Rules;

namespace Pelint.Engine;

/// <summary>
/// Decides each rule's level for a file: null turns the rule off (not run), <see cref="Level.None"/>
/// runs it and reports with level none (editorconfig "silent").
/// </summary>
public interface ISeverityPolicy
{
    Level? LevelFor(RuleDescriptor rule, string path);
}

/// <summary>Every rule at the level its page declares; rules marked <c>enabled: false</c> are off.</summary>
public sealed class DefaultSeverityPolicy : ISeverityPolicy
{
    public static readonly DefaultSeverityPolicy Instance = new();

    public Level? LevelFor(RuleDescriptor rule, string path) => rule.EnabledByDefault ? rule.DefaultLevel : null;
}
