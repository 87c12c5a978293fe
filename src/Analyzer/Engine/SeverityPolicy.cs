using Pelint.Rules;

namespace Pelint.Engine;

/// <summary>
/// Decides each rule's level for a file: null turns the rule off (not run), <see cref="Level.None"/>
/// runs it and reports with level none (editorconfig "silent").
/// </summary>
public interface ISeverityPolicy
{
    Level? LevelFor(RuleDescriptor rule, string path);

    /// <summary>
    /// Whether the configuration sets the rule's level for this file (by ID or name, category or
    /// globally): then that level is every result's, and a rule's own choice for a finding
    /// (<see cref="Finding.Level"/>) yields to it.
    /// </summary>
    bool IsLevelConfigured(RuleDescriptor rule, string path) => false;

    /// <summary>What the configuration requires of the image at this path.</summary>
    ImageRequirements RequirementsFor(string path) => ImageRequirements.None;
}

/// <summary>Every rule at the level its page declares; rules marked <c>enabled: false</c> are off.</summary>
public sealed class DefaultSeverityPolicy : ISeverityPolicy
{
    public static readonly DefaultSeverityPolicy Instance = new();

    public Level? LevelFor(RuleDescriptor rule, string path) => rule.EnabledByDefault ? rule.DefaultLevel : null;
}
