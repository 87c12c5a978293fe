using System.Reflection.PortableExecutable;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE1002: a DYNAMIC_BASE image keeps what the loader needs to move it.</summary>
[Rule("PE1002")]
public sealed partial class RelocationsForAslr : IRule
{
    public Applicability GetApplicability(PeImage image) =>
        image.Has(DllCharacteristics.DynamicBase)
            ? Applicability.ForNativeCode(image)
            : Applicability.NotApplicable("DYNAMIC_BASE is not set (see PE1001)");

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        if ((image.Characteristics & Characteristics.RelocsStripped) != 0)
        {
            yield return Messages.Stripped(ImageFacts.CharacteristicsField(image), "stripped",
                context.FileName, new Hex((ushort)image.Characteristics, 4));
        }

        if (!image.BaseRelocations.IsPresent)
        {
            var dir = image.BaseRelocations.Directory;
            yield return Messages.NoDirectory(new FindingLocation(dir.FileOffset, 8, Description: "base relocation data directory"),
                "no-directory", context.FileName);
        }
    }
}
