using System.Globalization;
using Pelint.Engine;
using Pelint.HotPatch;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE2001: every function entry starts with an instruction of at least 2 bytes; one result per image.</summary>
public sealed class HotpatchFirstInstruction : IRule
{
    public string Id => "PE2001";

    public Applicability GetApplicability(PeImage image) => HotPatchApplicability.Of(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var analysis = HotPatchAnalysis.Of(image);
        var bad = analysis.Entries.Where(e => e.FirstInstructionLength < 2).ToList();
        if (bad.Count == 0)
        {
            return [];
        }

        var x86 = image.Machine == System.Reflection.PortableExecutable.Machine.I386;
        var convention = x86
            ? $"; {analysis.Entries.Count(e => e.StartsWithMovEdiEdi).ToString(CultureInfo.InvariantCulture)} of them follow the mov edi, edi convention"
            : string.Empty;
        var finding = context.Report("short-first-instruction", FindingLocation.Image, "image", context.FileName,
            HotPatchApplicability.Num(bad.Count), HotPatchApplicability.Num(analysis.Entries.Count), HotPatchApplicability.Share(bad.Count, analysis.Entries.Count),
            convention, HotPatchApplicability.Num(Math.Min(bad.Count, HotPatchApplicability.MaxRelatedLocations))) with
        {
            RelatedLocations = bad.Take(HotPatchApplicability.MaxRelatedLocations)
                .Select(e => HotPatchApplicability.Where(image, e, $"{e.Name} starts with {e.FirstInstruction} ({e.FirstInstructionLength.ToString(CultureInfo.InvariantCulture)} byte)")).ToList(),
            Properties = HotPatchApplicability.Properties(analysis, bad.Count, x86),
        };
        return [finding];
    }
}

/// <summary>What the hot-patch rules share.</summary>
internal static class HotPatchApplicability
{
    /// <summary>How many non-compliant functions a result lists as related locations.</summary>
    public const int MaxRelatedLocations = 50;

    public static Applicability Of(PeImage image)
    {
        var native = Applicability.ForNativeCode(image);
        if (!native.IsApplicable)
        {
            return native;
        }

        if (image.Machine is not (System.Reflection.PortableExecutable.Machine.Amd64 or System.Reflection.PortableExecutable.Machine.I386))
        {
            return Applicability.NotApplicable($"hot-patching is checked for x64 and x86; the image is {MachineNames.Of(image.Machine)}");
        }

        return HotPatchAnalysis.Of(image).Entries.Count > 0 ? Applicability.Applicable : Applicability.NotApplicable("no function entries (.pdata, exports or entry point)");
    }

    public static FindingLocation Where(PeImage image, PatchableEntry entry, string description) =>
        new(image.FileOffsetOf(entry.Rva), Math.Max(entry.FirstInstructionLength, 1), entry.Rva, entry.Name, entry.Rva, description);

    public static Dictionary<string, object> Properties(HotPatchAnalysis analysis, int nonCompliant, bool x86)
    {
        var properties = new Dictionary<string, object>
        {
            ["functionsChecked"] = analysis.Entries.Count,
            ["functionsNonCompliant"] = nonCompliant,
        };
        if (x86)
        {
            properties["functionsWithMovEdiEdi"] = analysis.Entries.Count(e => e.StartsWithMovEdiEdi);
        }

        return properties;
    }

    public static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Share(int part, int whole) => whole == 0 ? "0%" : (100.0 * part / whole).ToString("0.#", CultureInfo.InvariantCulture) + "%";
}
