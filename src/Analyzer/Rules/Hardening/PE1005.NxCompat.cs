using System.Reflection.PortableExecutable;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE1005: the image declares DEP compatibility.</summary>
[Rule("PE1005")]
public sealed partial class NxCompat : IRule
{
    public Applicability GetApplicability(PeImage image) => Applicability.ForNativeCode(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        if (!image.Has(DllCharacteristics.NxCompatible))
        {
            yield return Messages.Missing(ImageFacts.DllCharacteristicsField(image), "image",
                context.FileName, ImageFacts.Hex(image.DllCharacteristics));
        }
    }
}
