using Pelint.Analysis.StackWalk;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE3011: a stack walk never restores a nonvolatile register from a slot already released (one result per function).</summary>
[Rule("PE3011")]
public sealed partial class UnwindReleasedSlot : IRule
{
    public Applicability GetApplicability(PeImage image) => StackWalkFindings.Applicability(image);

    public IEnumerable<Finding> Analyze(RuleContext context) => StackWalkFindings.PerFunction(context, StackWalkClass.ReleasedSlot, (verdict, hazards) => Describe(context, verdict, hazards));

    private static Finding Describe(RuleContext context, FunctionVerdict verdict, List<Hazard> hazards)
    {
        var image = context.Image;
        var first = hazards[0];
        var finding = Messages.Released(StackWalkFindings.Where(context, verdict, first), $"{StackWalkFindings.FunctionKey(context, verdict)}:released-slot",
            context.FileName, StackWalkFindings.FunctionName(context, verdict), first.Rva, StackWalkFindings.InstructionText(image, first.Rva),
            StackWalkFindings.Register(first.Register), StackWalkFindings.Slot(first.SlotAddress), first.TrueRsp.ToString(),
            StackWalkFindings.Affected(verdict, hazards));
        return finding;
    }
}
