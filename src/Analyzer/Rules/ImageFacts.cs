using System.Reflection.PortableExecutable;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>Locations and formatting shared by the header-flag rules.</summary>
internal static class ImageFacts
{
    public static FindingLocation DllCharacteristicsField(PeImage image) =>
        new(image.DllCharacteristicsFileOffset, 2, Description: "optional header DllCharacteristics");

    public static FindingLocation CharacteristicsField(PeImage image) =>
        new(image.CharacteristicsFileOffset, 2, Description: "COFF header Characteristics");

    /// <summary>DllCharacteristics as the 16-bit field reads: four digits.</summary>
    public static Hex Hex(DllCharacteristics value) => new((ushort)value, 4);

    public static bool Has(this PeImage image, DllCharacteristics flag) => (image.DllCharacteristics & flag) != 0;

    public static Applicability Pe32PlusNativeCode(PeImage image) =>
        image.IsPe32Plus ? Applicability.ForNativeCode(image) : Applicability.NotApplicable("PE32 image: 32-bit address space");
}
