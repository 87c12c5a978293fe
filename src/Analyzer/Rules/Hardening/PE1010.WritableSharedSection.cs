using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE1010: no section is both writable and shared.</summary>
public sealed class WritableSharedSection : IRule
{
    public string Id => "PE1010";

    public Applicability GetApplicability(PeImage image) =>
        image.Sections.Count > 0 ? Applicability.Applicable : Applicability.NotApplicable("no sections");

    public IEnumerable<Finding> Analyze(RuleContext context) =>
        SectionFlags.Report(context, s => s.IsWritable && s.IsShared, "writable-shared");
}
