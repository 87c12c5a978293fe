using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE4003: no reserved field or code of an ARM64 .xdata record is used.</summary>
[Rule("PE4003")]
public sealed partial class Arm64UnwindReserved : IRule
{
    public Applicability GetApplicability(PeImage image) => Arm64Facts.ForArm64UnwindData(image);

    public IEnumerable<Finding> Analyze(RuleContext context) => Arm64RecordRule.Analyze(context, Arm64RecordSeverity.Reserved, Messages.Problem);
}
