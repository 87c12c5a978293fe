using Pelint.Analysis.StackWalk;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE3005: no instruction runs on a partly released frame where the unwinder sees no epilog (one result per function).</summary>
[Rule("PE3005")]
public sealed partial class EpilogForm : IRule
{
    public Applicability GetApplicability(PeImage image) => StackWalkFindings.Applicability(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        foreach (var verdict in StackWalkAnalysis.Of(context.Analysis).Verdicts)
        {
            var hazards = StackWalkFindings.Of(image, verdict, StackWalkClass.PartlyReleased);
            if (hazards.Count == 0)
            {
                continue;
            }

            if (context.IsPastCap)
            {
                yield return Finding.PastCap;
                continue;
            }

            var first = hazards[0];
            var finding = Messages.PartlyReleased(StackWalkFindings.Where(context, verdict, first), $"{StackWalkFindings.FunctionKey(context, verdict)}:partly-released",
                context.FileName, StackWalkFindings.FunctionName(context, verdict), first.Rva, StackWalkFindings.InstructionText(image, first.Rva),
                StackWalkFindings.Slot(first.ReturnAddressFrom), first.TrueRsp.ToString(), StackWalkFindings.Affected(verdict, hazards));
            yield return StackWalkFindings.WithPlaces(context, finding, verdict, hazards);
        }
    }
}
