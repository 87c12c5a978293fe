using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE1009: no section is both writable and executable.</summary>
public sealed class WritableExecutableSection : IRule
{
    public string Id => "PE1009";

    public Applicability GetApplicability(PeImage image) =>
        image.Sections.Count > 0 ? Applicability.Applicable : Applicability.NotApplicable("no sections");

    public IEnumerable<Finding> Analyze(RuleContext context) =>
        SectionFlags.Report(context, s => s.IsWritable && s.IsMemExecute, "writable-executable");
}
