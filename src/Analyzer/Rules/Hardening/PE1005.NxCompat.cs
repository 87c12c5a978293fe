using System.Reflection.PortableExecutable;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE1005: the image declares DEP compatibility.</summary>
public sealed class NxCompat : IRule
{
    public string Id => "PE1005";

    public Applicability GetApplicability(PeImage image) => Applicability.ForNativeCode(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        if (!image.Has(DllCharacteristics.NxCompatible))
        {
            yield return context.Report("missing", ImageFacts.DllCharacteristicsField(image), "image",
                context.FileName, ImageFacts.Hex(image.DllCharacteristics));
        }
    }
}
