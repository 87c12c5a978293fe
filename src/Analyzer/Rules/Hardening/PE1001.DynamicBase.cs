using System.Reflection.PortableExecutable;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE1001: the image opts in to ASLR.</summary>
[Rule("PE1001")]
public sealed partial class DynamicBase : IRule
{
    public Applicability GetApplicability(PeImage image) => image.OptionalHeader.Subsystem is Subsystem.EfiApplication or Subsystem.EfiBootServiceDriver
        or Subsystem.EfiRuntimeDriver or Subsystem.EfiRom
        ? Applicability.NotApplicable("EFI image: firmware loads it wherever it allocates memory and applies its relocations whatever DllCharacteristics says")
        : Applicability.ForNativeCode(image);

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
