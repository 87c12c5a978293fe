using System.Globalization;
using Pelint.Analysis.Epilogs;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE3009: epilogs in forms the documentation does not list but the unwinder handles; one result per image.</summary>
[Rule("PE3009")]
public sealed partial class EpilogDocumentedForm : IRule
{
    public Applicability GetApplicability(PeImage image) => EpilogApplicability.Of(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var analysis = EpilogAnalysis.Of(context.Analysis);
        var undocumented = analysis.Epilogs.Where(e => e.Verdict == EpilogVerdict.Undocumented).ToList();
        if (undocumented.Count == 0)
        {
            return [];
        }

        var kinds = string.Join(", ", undocumented.GroupBy(e => e.Deviation).OrderByDescending(g => g.Count())
            .Select(g => $"{g.Key}: {g.Count().ToString(CultureInfo.InvariantCulture)}"));
        var functions = undocumented.Select(e => e.Primary.BeginAddress).Distinct().Count();
        var listed = context.Descriptor.MaxRelatedLocations;
        var shown = Math.Min(undocumented.Count, listed);
        var finding = Messages.Undocumented(FindingLocation.Image, "image", context.FileName,
            undocumented.Count, analysis.EpilogsChecked, functions, kinds, shown) with
        {
            RelatedLocations = undocumented.Take(listed)
                .Select(e => EpilogApplicability.Where(image, e) with { Description = $"{e.Deviation} in {e.FunctionName} (bytes {e.Bytes})" }).ToList(),
            Properties = new Dictionary<string, object>
            {
                ["epilogsChecked"] = analysis.EpilogsChecked,
                ["epilogsUndocumented"] = undocumented.Count,
                ["functionsChecked"] = analysis.FunctionsChecked,
                ["fragmentsChecked"] = analysis.FragmentsChecked,
                ["v2EpilogsCompared"] = analysis.V2EpilogsCompared,
            },
        };
        return [finding];
    }
}
