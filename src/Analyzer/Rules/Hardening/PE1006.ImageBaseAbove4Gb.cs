using System.Globalization;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE1006: a 64-bit image prefers a base above 4 GB.</summary>
public sealed class ImageBaseAbove4Gb : IRule
{
    private const ulong FourGigabytes = 0x1_0000_0000;

    public string Id => "PE1006";

    public Applicability GetApplicability(PeImage image) => ImageFacts.Pe32PlusNativeCode(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        if (image.ImageBase < FourGigabytes)
        {
            yield return context.Report("low-base", new FindingLocation(image.ImageBaseFileOffset, 8, Description: "optional header ImageBase"),
                "image", context.FileName, image.ImageBase.ToString("X", CultureInfo.InvariantCulture));
        }
    }
}
