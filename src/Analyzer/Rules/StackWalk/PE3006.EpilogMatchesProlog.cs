using Pelint.Analysis.StackWalk;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE3006: where the unwinder recognises an epilog and simulates it, the simulation undoes the frame exactly (one result per function).</summary>
[Rule("PE3006")]
public sealed partial class EpilogMatchesProlog : IRule
{
    public Applicability GetApplicability(PeImage image) => StackWalkFindings.Applicability(image);

    public IEnumerable<Finding> Analyze(RuleContext context) => StackWalkFindings.PerFunction(context, StackWalkClass.Epilog, (verdict, hazards) => Describe(context, verdict, hazards));

    private static Finding Describe(RuleContext context, FunctionVerdict verdict, List<Hazard> hazards)
    {
        var image = context.Image;
        var first = hazards[0];
        var where = StackWalkFindings.Where(context, verdict, first);
        var key = StackWalkFindings.FunctionKey(context, verdict);
        var name = StackWalkFindings.FunctionName(context, verdict);
        var text = StackWalkFindings.InstructionText(image, first.Rva);
        var affected = StackWalkFindings.Affected(verdict, hazards);
        var finding = first.Kind == HazardKind.WrongCaller
            ? Messages.WrongCaller(where, $"{key}:epilog-wrong-caller", context.FileName, name, first.Rva, text,
                StackWalkFindings.Slot(first.ReturnAddressFrom), first.TrueRsp.ToString(), affected)
            : Messages.WrongRegister(where, $"{key}:epilog-wrong-register", context.FileName, name, first.Rva, text,
                StackWalkFindings.Register(first.Register), StackWalkFindings.Slot(first.SlotAddress), first.RestoredValue.ToString(), affected);
        return finding;
    }
}
