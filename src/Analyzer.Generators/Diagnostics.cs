using Microsoft.CodeAnalysis;

namespace Pelint.Generators;

/// <summary>The generator's diagnostics: all errors, because each leaves a rule without its messages.</summary>
internal static class Diagnostics
{
    private const string Category = "Pelint.RulePages";

    public static readonly DiagnosticDescriptor MalformedPage = new(
        "PELG001", "Malformed rule page", "{0}: {1}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "A rule page's front matter must have id, name, title, description, category, level and messages, each message's placeholders numbered {0}..{n-1} without gaps.");

    public static readonly DiagnosticDescriptor NoPage = new(
        "PELG002", "Rule without a page", "Rule class {0} names rule {1}, but no rules/{1}.md is among the AdditionalFiles", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor DuplicateRule = new(
        "PELG003", "Rule ID claimed twice", "Rule {0} is claimed by more than one class ({1})", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NotPartial = new(
        "PELG004", "Rule class must be a partial top-level class", "Rule class {0} must be declared 'partial' and outside other types, so its messages can be generated into it", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);
}
