using System.Globalization;
using System.Reflection.PortableExecutable;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE1001: the image opts in to ASLR.</summary>
public sealed class DynamicBase : IRule
{
    public string Id => "PE1001";

    public Applicability GetApplicability(PeImage image) => Applicability.ForNativeCode(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        if (!image.Has(DllCharacteristics.DynamicBase))
        {
            yield return context.Report("missing", ImageFacts.DllCharacteristicsField(image), "image",
                context.FileName, ImageFacts.Hex(image.DllCharacteristics), image.ImageBase.ToString("X", CultureInfo.InvariantCulture));
        }
    }
}
