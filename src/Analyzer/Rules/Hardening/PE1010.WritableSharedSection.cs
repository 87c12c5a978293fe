using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE1010: no section is both writable and shared.</summary>
[Rule("PE1010")]
public sealed partial class WritableSharedSection : IRule
{
    public Applicability GetApplicability(PeImage image) =>
        image.Sections.Count > 0 ? Applicability.Applicable : Applicability.NotApplicable("no sections");

    public IEnumerable<Finding> Analyze(RuleContext context) =>
        SectionFlags.Offenders(context, s => s.IsWritable && s.IsShared, Messages.WritableShared);
}
