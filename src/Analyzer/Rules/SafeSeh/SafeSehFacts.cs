using System.Reflection.PortableExecutable;
using Pelint.Pe;
using Pelint.Pe.Headers;

namespace Pelint.Rules;

/// <summary>What the SafeSEH rules (PE5001-PE5004) share: which images they speak about and where their fields are.</summary>
internal static class SafeSehFacts
{
    /// <summary>
    /// x86 native code only: x64, ARM64 and the other machines list their handlers in .pdata
    /// unwind data, and the linker refuses /SAFESEH for them.
    /// </summary>
    public static Applicability Applicability(PeImage image)
    {
        if (image.Machine != Machine.I386)
        {
            return Rules.Applicability.NotApplicable($"machine is {MachineNames.Of(image.Machine)}: safe exception handler tables (/SAFESEH) exist only in x86 images; other machines register handlers in their unwind data");
        }

        return image.OptionalHeader.Subsystem is Subsystem.EfiApplication or Subsystem.EfiBootServiceDriver or Subsystem.EfiRuntimeDriver or Subsystem.EfiRom
            ? Rules.Applicability.NotApplicable("EFI image: firmware dispatches no Windows structured exceptions")
            : Rules.Applicability.ForNativeCode(image);
    }

    /// <summary>Applicable to x86 native code that names a safe exception handler table.</summary>
    public static Applicability WithTable(PeImage image)
    {
        var applicability = Applicability(image);
        return !applicability.IsApplicable || image.SafeSeh.IsPresent
            ? applicability
            : Rules.Applicability.NotApplicable("no safe exception handler table (SEHandlerTable is 0 or absent; see PE5001)");
    }

    public static FindingLocation TableField(PeImage image) =>
        new(image.SafeSeh.TableFieldFileOffset, 8, Description: "load configuration SEHandlerTable and SEHandlerCount");

    public static FindingLocation Entry(PeImage image, int index) =>
        new(image.SafeSeh.EntryFileOffset(image, index), 4,
            image.SafeSeh.TableRva is { } rva ? rva + ((uint)index * 4) : null, Description: "safe exception handler table entry");
}
