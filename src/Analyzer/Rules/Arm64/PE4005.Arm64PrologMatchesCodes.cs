using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE4005: each ARM64 prolog instruction is the one its unwind code describes.</summary>
[Rule("PE4005")]
public sealed partial class Arm64PrologMatchesCodes : IRule
{
    public Applicability GetApplicability(PeImage image) => Arm64Facts.ForArm64UnwindData(image);

    public IEnumerable<Finding> Analyze(RuleContext context) => Arm64FrameRule.Analyze(context, epilogs: false, Messages.Mismatch, Messages.QRegisters);
}
