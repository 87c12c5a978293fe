using System.Globalization;
using System.Reflection.PortableExecutable;
using Pelint.Analysis.Functions;
using Pelint.Analysis.HotPatch;
using Pelint.Pe;
using Pelint.Pe.Headers;

namespace Pelint.Rules;

/// <summary>
/// What the hot-patch rules share: which images they speak about, when they judge each function
/// (the image was built hot-patchable, or the configuration requires it), and how a function and
/// the reason it is judged are named.
/// </summary>
internal static class HotPatchReport
{
    /// <summary>The hot-patch rules speak about x86 and x64 native code.</summary>
    public static Applicability Applicability(PeImage image) =>
        image.Machine is Machine.Amd64 or Machine.I386
            ? Rules.Applicability.ForNativeCode(image)
            : Rules.Applicability.NotApplicable($"machine is {MachineNames.Of(image.Machine)}: hot-patching is checked for x86 and x64");

    /// <summary>Whether each entry is judged: the image shows intent, or hot-patchability is required of it.</summary>
    public static bool JudgesEachEntry(RuleContext context, HotPatchCompliance compliance) =>
        context.Requirements.HotPatchable || compliance.HasIntent;

    /// <summary>Why the entries are judged, the end of every per-function message.</summary>
    public static string Why(RuleContext context, HotPatchCompliance compliance) =>
        context.Requirements.HotPatchable
            ? "hot-patchability is required of this image (pelint_hotpatch_required)"
            : string.Create(CultureInfo.InvariantCulture,
                $"the image is built hot-patchable ({compliance.Compliant:N0} of {compliance.Entries.Count:N0} entries comply)");

    /// <summary>The level of a per-function finding: error when required, else the rule's own.</summary>
    public static Finding Leveled(RuleContext context, Finding finding) =>
        context.Requirements.HotPatchable ? finding with { Level = Level.Error } : finding;

    public static FindingLocation Where(RuleContext context, PatchableEntry entry, string description)
    {
        var names = FunctionIdentity.Of(context.Analysis);
        return new FindingLocation(context.Image.FileOffsetOf(entry.Rva), 1, entry.Rva, names.DisplayName(entry.Rva), entry.Rva, description);
    }

    /// <summary>"function 0x1130 (name)" for messages.</summary>
    public static string Describe(RuleContext context, PatchableEntry entry) =>
        (FunctionIdentity.Of(context.Analysis).NameOf(entry.Rva) ?? entry.Name) is { } name
            ? string.Create(CultureInfo.InvariantCulture, $"function 0x{entry.Rva:X} ({name})")
            : string.Create(CultureInfo.InvariantCulture, $"function 0x{entry.Rva:X}");

    /// <summary>
    /// The entry's key for fingerprints, one that survives a rebuild: its export name, else its
    /// .pdata entry's section#ordinal, else what the entry list calls it (the x86 entry point).
    /// A PDB name is not used: a PDB present on one machine and not another must not change an
    /// alert's identity.
    /// </summary>
    public static string KeyOf(RuleContext context, PatchableEntry entry) =>
        context.Image.Exports.NameOf(entry.Rva)
        ?? (context.Image.Machine == System.Reflection.PortableExecutable.Machine.Amd64 && context.Image.ExceptionDirectory.FindByBegin(entry.Rva) is { } f
            ? FunctionIdentity.Of(context.Analysis).KeyOf(f) : null)
        ?? entry.Name
        ?? "entry";
}
