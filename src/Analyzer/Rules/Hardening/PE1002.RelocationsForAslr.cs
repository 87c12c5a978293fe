using System.Globalization;
using System.Reflection.PortableExecutable;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE1002: a DYNAMIC_BASE image keeps what the loader needs to move it.</summary>
public sealed class RelocationsForAslr : IRule
{
    public string Id => "PE1002";

    public Applicability GetApplicability(PeImage image) =>
        image.Has(DllCharacteristics.DynamicBase)
            ? Applicability.ForNativeCode(image)
            : Applicability.NotApplicable("DYNAMIC_BASE is not set (see PE1001)");

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        if ((image.Characteristics & Characteristics.RelocsStripped) != 0)
        {
            yield return context.Report("stripped", ImageFacts.CharacteristicsField(image), "stripped",
                context.FileName, ((ushort)image.Characteristics).ToString("X4", CultureInfo.InvariantCulture));
        }

        if (!image.BaseRelocations.IsPresent)
        {
            var dir = image.BaseRelocations.Directory;
            yield return context.Report("no-directory", new FindingLocation(dir.FileOffset, 8, Description: "base relocation data directory"),
                "no-directory", context.FileName);
        }
    }
}
