using Pelint.Analysis.StackWalk;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE3012: a function whose codes describe nothing and that only its language handler can unwind (one result per function).</summary>
[Rule("PE3012")]
public sealed partial class UnwindHandlerOnly : IRule
{
    public Applicability GetApplicability(PeImage image) => StackWalkFindings.Applicability(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        foreach (var verdict in StackWalkAnalysis.Of(context.Analysis).Verdicts)
        {
            if (verdict.Description != FrameDescription.HandlerOnly)
            {
                continue;
            }

            var hazards = verdict.Hazards.Where(h => h.Kind != HazardKind.ReleasedSlot).ToList();
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
            var handler = image.ExceptionDirectory.UnwindInfoOf(verdict.Primary)?.HandlerRva is { } rva
                ? image.LanguageHandlers.Identify(rva)?.Name ?? $"0x{rva:X}"
                : "?";
            var finding = Messages.HandlerOnly(StackWalkFindings.Where(context, verdict, first), $"{StackWalkFindings.FunctionKey(context, verdict)}:handler-only",
                context.FileName, StackWalkFindings.FunctionName(context, verdict), handler, StackWalkFindings.Affected(verdict, hazards),
                first.Rva, StackWalkFindings.InstructionText(image, first.Rva));
            yield return StackWalkFindings.WithPlaces(context, finding, verdict, hazards);
        }
    }
}
