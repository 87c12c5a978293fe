using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE4002: every ARM64 .xdata record decodes as the unwinder needs it.</summary>
[Rule("PE4002")]
public sealed partial class Arm64UnwindFormat : IRule
{
    public Applicability GetApplicability(PeImage image) => Arm64Facts.ForArm64UnwindData(image);

    public IEnumerable<Finding> Analyze(RuleContext context) => Arm64RecordRule.Analyze(context, Arm64RecordSeverity.Malformed, Messages.Problem);
}
