using Pelint.Analysis.StackWalk;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE3005: no instruction runs on a partly released frame where the unwinder sees no epilog (one result per function).</summary>
[Rule("PE3005")]
public sealed partial class EpilogForm : IRule
{
    public Applicability GetApplicability(PeImage image) => StackWalkFindings.Applicability(image);

    public IEnumerable<Finding> Analyze(RuleContext context) => StackWalkFindings.PerFunction(context, StackWalkClass.PartlyReleased, (verdict, hazards) => Describe(context, verdict, hazards));

    private static Finding Describe(RuleContext context, FunctionVerdict verdict, List<Hazard> hazards)
    {
        var image = context.Image;
        var first = hazards[0];
        var finding = Messages.PartlyReleased(StackWalkFindings.Where(context, verdict, first), $"{StackWalkFindings.FunctionKey(context, verdict)}:partly-released",
            context.FileName, StackWalkFindings.FunctionName(context, verdict), first.Rva, StackWalkFindings.InstructionText(image, first.Rva),
            StackWalkFindings.Slot(first.ReturnAddressFrom), first.TrueRsp.ToString(), StackWalkFindings.Affected(verdict, hazards));
        return finding;
    }
}
