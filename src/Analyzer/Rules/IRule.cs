using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>
/// A rule: one small class that asks the image for what it needs and yields findings. Its
/// metadata (name, level, messages, result limit, help) lives in <c>rules/&lt;Id&gt;.md</c>, never in
/// code: a rule class is marked <see cref="RuleAttribute"/> and the build generates its
/// <see cref="Id"/> and its typed <c>Messages</c> from that page.
/// </summary>
public interface IRule
{
    /// <summary>The rule's permanent ID, e.g. PE1001; its page is rules/&lt;Id&gt;.md.</summary>
    string Id { get; }

    /// <summary>Whether the rule has anything to say about this image, and if not, why.</summary>
    Applicability GetApplicability(PeImage image);

    /// <summary>
    /// The rule's findings, yielded one at a time (the engine keeps the first max-results and
    /// counts the rest as they come). Problems in the image are findings, never exceptions.
    /// </summary>
    IEnumerable<Finding> Analyze(RuleContext context);
}

/// <summary>The answer to "does this rule apply to this image?", with the reason when it does not.</summary>
public sealed record Applicability(bool IsApplicable, string? Reason)
{
    public static readonly Applicability Applicable = new(true, null);

    public static Applicability NotApplicable(string reason) => new(false, reason);

    /// <summary>The applicability shared by rules about native code: not for IL-only or code-less images.</summary>
    public static Applicability ForNativeCode(PeImage image)
    {
        if (image.IsILOnly)
        {
            return NotApplicable("IL-only .NET assembly: no native code");
        }

        return image.HasCode ? Applicable : NotApplicable("no executable section (resource-only image)");
    }
}
