using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE1006: a 64-bit image prefers a base above 4 GB.</summary>
[Rule("PE1006")]
public sealed partial class ImageBaseAbove4Gb : IRule
{
    private const ulong FourGigabytes = 0x1_0000_0000;

    public Applicability GetApplicability(PeImage image) => ImageFacts.Pe32PlusNativeCode(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        if (image.ImageBase < FourGigabytes)
        {
            yield return Messages.LowBase(new FindingLocation(image.ImageBaseFileOffset, 8, Description: "optional header ImageBase"),
                "image", context.FileName, image.ImageBase);
        }
    }
}
