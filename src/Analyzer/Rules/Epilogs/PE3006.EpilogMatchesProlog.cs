using System.Globalization;
using Pelint.Analysis.Epilogs;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE3006: each epilog undoes exactly the frame the prolog's unwind codes record.</summary>
public sealed class EpilogMatchesProlog : IRule
{
    /// <summary>Per-epilog results past this many become one summary result.</summary>
    public const int MaxFindingsPerImage = 100;

    public string Id => "PE3006";

    public Applicability GetApplicability(PeImage image) => EpilogApplicability.Of(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var analysis = EpilogAnalysis.Of(context.Analysis);
        var findings = new List<Finding>();
        foreach (var site in analysis.Epilogs.Where(e => e.Mismatch is not null))
        {
            findings.Add(context.Report("mismatch", EpilogApplicability.Where(image, site), $"{site.FunctionKey}:epilog{site.Ordinal}:mismatch",
                context.FileName, site.FunctionName, site.StartRva.ToString("X", CultureInfo.InvariantCulture), site.Mismatch!, site.Bytes));
        }

        foreach (var witness in analysis.WitnessDisagreements)
        {
            findings.Add(context.Report("v2-witness", new FindingLocation(image.FileOffsetOf(witness.EpilogRva), 1, witness.EpilogRva, witness.FunctionName, witness.Fragment.BeginAddress),
                $"{witness.FunctionKey}:v2-witness", context.FileName, witness.FunctionName, witness.EpilogRva.ToString("X", CultureInfo.InvariantCulture)));
        }

        return FindingCap.Apply(context, findings, MaxFindingsPerImage, FindingLocation.Image);
    }
}
