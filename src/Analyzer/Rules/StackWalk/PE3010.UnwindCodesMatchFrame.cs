using Pelint.Analysis.StackWalk;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE3010: in the prolog and body, the unwind codes describe the frame the code has built (one result per function).</summary>
public sealed class UnwindCodesMatchFrame : IRule
{
    public string Id => "PE3010";

    public Applicability GetApplicability(PeImage image) => StackWalkFindings.Applicability(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        foreach (var verdict in StackWalkAnalysis.Of(context.Analysis).Verdicts)
        {
            var hazards = StackWalkFindings.Of(image, verdict, StackWalkClass.Codes);
            if (hazards.Count == 0)
            {
                continue;
            }

            var first = hazards[0];
            var where = StackWalkFindings.Where(context, verdict, first);
            var key = StackWalkFindings.FunctionKey(context, verdict);
            var name = StackWalkFindings.FunctionName(context, verdict);
            var text = StackWalkFindings.InstructionText(image, first.Rva);
            var affected = StackWalkFindings.Count(StackWalkFindings.Affected(verdict, hazards));
            var finding = first.Kind == HazardKind.WrongCaller
                ? context.Report("wrong-caller", where, $"{key}:codes-wrong-caller", context.FileName, name, StackWalkFindings.Hex(first.Rva), text,
                    StackWalkFindings.Slot(first.ReturnAddressFrom), first.TrueRsp.ToString(), StackWalkFindings.Hex(verdict.FrameDepth), affected)
                : context.Report("wrong-register", where, $"{key}:codes-wrong-register", context.FileName, name, StackWalkFindings.Hex(first.Rva), text,
                    StackWalkFindings.Register(first.Register), StackWalkFindings.Slot(first.SlotAddress), first.RestoredValue.ToString(), affected);
            yield return StackWalkFindings.WithPlaces(context, finding, verdict, hazards);
        }
    }
}
