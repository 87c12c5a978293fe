using Pelint.Analysis.StackWalk;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE3012: a function whose codes describe nothing and that only its language handler can unwind (one result per function).</summary>
public sealed class UnwindHandlerOnly : IRule
{
    public string Id => "PE3012";

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

            var first = hazards[0];
            var handler = image.ExceptionDirectory.UnwindInfoOf(verdict.Primary)?.HandlerRva is { } rva
                ? image.LanguageHandlers.Identify(rva)?.Name ?? $"0x{StackWalkFindings.Hex(rva)}"
                : "?";
            var finding = context.Report("handler-only", StackWalkFindings.Where(context, verdict, first), $"{StackWalkFindings.FunctionKey(context, verdict)}:handler-only",
                context.FileName, StackWalkFindings.FunctionName(context, verdict), handler, StackWalkFindings.Count(StackWalkFindings.Affected(verdict, hazards)),
                StackWalkFindings.Hex(first.Rva), StackWalkFindings.InstructionText(image, first.Rva));
            yield return StackWalkFindings.WithPlaces(context, finding, verdict, hazards);
        }
    }
}
