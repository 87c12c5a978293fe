using Pelint.Analysis.Arm64;
using Pelint.Pe;
using Pelint.Pe.Exceptions.Arm64;
using Pelint.Pe.Headers;

namespace Pelint.Rules;

/// <summary>What the ARM64 unwind rules share: applicability, naming, keys and locations.</summary>
internal static class Arm64Facts
{
    /// <summary>The ARM64 rules apply to ARM64, ARM64EC and ARM64X code, and say so with the machine otherwise.</summary>
    public static Applicability ForArm64UnwindData(PeImage image)
    {
        var arm64 = image.Arm64Exceptions;
        if (!arm64.HasArm64Code)
        {
            return Applicability.NotApplicable($"machine is {MachineNames.Of(image.Machine)}: ARM64 unwind data exists only in ARM64, ARM64EC and ARM64X images");
        }

        return arm64.Table.IsPresent
            ? Applicability.Applicable
            : Applicability.NotApplicable($"{arm64.Flavor} image without an ARM64 function table ({(arm64.Flavor == "ARM64EC" ? "no CHPE extra table" : "no exception directory")})");
    }

    /// <summary>"function 0x1234 (name)" for messages.</summary>
    public static string Describe(PeImage image, uint begin) =>
        image.Exports.NameOf(begin) is { } name ? $"function 0x{begin:X} ({name})" : $"function 0x{begin:X}";

    /// <summary>The function's key for fingerprints (see <see cref="Arm64FunctionKeys"/>).</summary>
    public static string Key(RuleContext context, Arm64RuntimeFunction entry) => Arm64FunctionKeys.Of(context.Analysis).KeyOf(entry);

    public static FindingLocation EntryLocation(PeImage image, Arm64RuntimeFunction entry, string description = "ARM64 .pdata entry") =>
        new(entry.FileOffset, Arm64RuntimeFunction.Size, entry.BeginAddress, image.Exports.NameOf(entry.BeginAddress), entry.BeginAddress, description);

    public static FindingLocation RecordLocation(PeImage image, Arm64RuntimeFunction entry, Arm64UnwindRecord record) =>
        record.Rva is { } rva
            ? new(image.FileOffsetOf(rva), Math.Max(4, record.Size), rva, image.Exports.NameOf(entry.BeginAddress), entry.BeginAddress, ".xdata record")
            : EntryLocation(image, entry, "ARM64 .pdata entry (packed unwind data)");

    public static FindingLocation CodeLocation(PeImage image, Arm64RuntimeFunction entry, uint rva, string description) =>
        new(image.FileOffsetOf(rva), 4, rva, image.Exports.NameOf(entry.BeginAddress), entry.BeginAddress, description);
}
