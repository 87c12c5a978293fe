using Pelint.Analysis.Epilogs;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE3006: each epilog undoes exactly the frame the prolog's unwind codes record.</summary>
[Rule("PE3006")]
public sealed partial class EpilogMatchesProlog : IRule
{
    public Applicability GetApplicability(PeImage image) => EpilogApplicability.Of(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var analysis = EpilogAnalysis.Of(context.Analysis);
        foreach (var site in analysis.Epilogs.Where(e => e.Mismatch is not null))
        {
            yield return context.IsPastCap ? Finding.PastCap
                : Messages.Mismatch(EpilogApplicability.Where(image, site), $"{site.FunctionKey}:epilog{site.Ordinal}:mismatch",
                    context.FileName, site.FunctionName, site.StartRva, site.Mismatch!, site.Bytes);
        }

        foreach (var witness in analysis.WitnessDisagreements)
        {
            yield return context.IsPastCap ? Finding.PastCap
                : Messages.V2Witness(new FindingLocation(image.FileOffsetOf(witness.EpilogRva), 1, witness.EpilogRva, witness.FunctionName, witness.Fragment.BeginAddress),
                    $"{witness.FunctionKey}:v2-witness", context.FileName, witness.FunctionName, witness.EpilogRva);
        }
    }
}
