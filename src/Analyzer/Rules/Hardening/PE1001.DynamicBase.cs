using System.Reflection.PortableExecutable;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE1001: the image opts in to ASLR.</summary>
[Rule("PE1001")]
public sealed partial class DynamicBase : IRule
{
    public Applicability GetApplicability(PeImage image) => Applicability.ForNativeCode(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        if (!image.Has(DllCharacteristics.DynamicBase))
        {
            yield return Messages.Missing(ImageFacts.DllCharacteristicsField(image), "image",
                context.FileName, ImageFacts.Hex(image.DllCharacteristics), image.ImageBase);
        }
    }
}
