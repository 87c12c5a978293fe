using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE1009: no section is both writable and executable.</summary>
[Rule("PE1009")]
public sealed partial class WritableExecutableSection : IRule
{
    public Applicability GetApplicability(PeImage image) =>
        image.Sections.Count > 0 ? Applicability.Applicable : Applicability.NotApplicable("no sections");

    public IEnumerable<Finding> Analyze(RuleContext context) =>
        SectionFlags.Offenders(context, s => s.IsWritable && s.IsMemExecute, Messages.WritableExecutable);
}
