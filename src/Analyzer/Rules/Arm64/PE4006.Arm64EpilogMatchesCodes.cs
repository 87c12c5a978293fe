using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE4006: each ARM64 epilog instruction is the one its unwind code describes, and the epilog ends in a return or tail branch.</summary>
[Rule("PE4006")]
public sealed partial class Arm64EpilogMatchesCodes : IRule
{
    public Applicability GetApplicability(PeImage image) => Arm64Facts.ForArm64UnwindData(image);

    public IEnumerable<Finding> Analyze(RuleContext context) => Arm64FrameRule.Analyze(context, epilogs: true, Messages.Mismatch, Messages.QRegisters);
}
