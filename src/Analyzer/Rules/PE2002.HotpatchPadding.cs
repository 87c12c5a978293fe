using System.Globalization;
using Pelint.Engine;
using Pelint.HotPatch;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE2002: int3/nop padding owned by no other function before every entry; one result per image.</summary>
public sealed class HotpatchPadding : IRule
{
    public string Id => "PE2002";

    public Applicability GetApplicability(PeImage image) => HotPatchApplicability.Of(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var analysis = HotPatchAnalysis.Of(image);
        var bad = analysis.Entries.Where(e => !e.HasPadding).ToList();
        if (bad.Count == 0)
        {
            return [];
        }

        var finding = context.Report("missing-padding", FindingLocation.Image, "image", context.FileName,
            HotPatchApplicability.Num(bad.Count), HotPatchApplicability.Num(analysis.Entries.Count), HotPatchApplicability.Share(bad.Count, analysis.Entries.Count),
            analysis.PaddingNeeded.ToString(CultureInfo.InvariantCulture), HotPatchApplicability.Num(Math.Min(bad.Count, HotPatchApplicability.MaxRelatedLocations))) with
        {
            RelatedLocations = bad.Take(HotPatchApplicability.MaxRelatedLocations)
                .Select(e => HotPatchApplicability.Where(image, e, $"{e.Name}: {e.PaddingProblem}")).ToList(),
            Properties = HotPatchApplicability.Properties(analysis, bad.Count, image.Machine == System.Reflection.PortableExecutable.Machine.I386),
        };
        return [finding];
    }
}
