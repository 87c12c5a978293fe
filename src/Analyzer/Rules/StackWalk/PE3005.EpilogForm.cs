using Pelint.Analysis.StackWalk;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE3005: no instruction runs on a partly released frame where the unwinder sees no epilog (one result per function).</summary>
public sealed class EpilogForm : IRule
{
    public string Id => "PE3005";

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

            var first = hazards[0];
            var finding = context.Report("partly-released", StackWalkFindings.Where(context, verdict, first), $"{StackWalkFindings.FunctionKey(context, verdict)}:partly-released",
                context.FileName, StackWalkFindings.FunctionName(context, verdict), StackWalkFindings.Hex(first.Rva), StackWalkFindings.InstructionText(image, first.Rva),
                StackWalkFindings.Slot(first.ReturnAddressFrom), first.TrueRsp.ToString(), StackWalkFindings.Count(StackWalkFindings.Affected(verdict, hazards)));
            yield return StackWalkFindings.WithPlaces(context, finding, verdict, hazards);
        }
    }
}
