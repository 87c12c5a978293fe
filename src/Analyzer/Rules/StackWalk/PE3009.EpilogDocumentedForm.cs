using System.Globalization;
using Pelint.Analysis.StackWalk;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE3009: epilogs in forms the documentation does not list but the unwinder handles; one result per image (off by default).</summary>
[Rule("PE3009")]
public sealed partial class EpilogDocumentedForm : IRule
{
    public Applicability GetApplicability(PeImage image) => StackWalkFindings.Applicability(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var analysis = StackWalkAnalysis.Of(context.Analysis);
        var forms = analysis.Verdicts.SelectMany(v => v.UndocumentedForms.Select(f => (Verdict: v, f.Rva, f.Form))).ToList();
        if (forms.Count == 0)
        {
            return [];
        }

        var kinds = string.Join(", ", forms.GroupBy(f => f.Form).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key}: {Num(g.Count())}"));
        var functions = forms.Select(f => f.Verdict.Primary.BeginAddress).Distinct().Count();
        var shown = Math.Min(forms.Count, context.Descriptor.MaxRelatedLocations);
        var finding = Messages.Undocumented(FindingLocation.Image, "image", context.FileName,
            forms.Count, analysis.ExitsReached, functions, kinds, shown) with
        {
            RelatedLocations = forms.Take(shown)
                .Select(f => new FindingLocation(image.FileOffsetOf(f.Rva), 1, f.Rva, StackWalkFindings.FunctionName(context, f.Verdict), f.Verdict.Primary.BeginAddress,
                    $"{f.Form} in {StackWalkFindings.FunctionName(context, f.Verdict)} at 0x{f.Rva:X}"))
                .ToList(),
            Properties = new Dictionary<string, object>
            {
                ["exitsReached"] = analysis.ExitsReached,
                ["epilogsUndocumented"] = forms.Count,
                ["functionsVerified"] = analysis.FunctionsVerified,
            },
        };
        return [finding];
    }

    private static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);
}
