using System.Reflection.PortableExecutable;
using Pelint.Analysis.HotPatch;
using Pelint.Pe;
using Pelint.Pe.Headers;

namespace Pelint.Rules;

/// <summary>The per-image result shape of the hot-patch rules: counts, share, and capped related locations.</summary>
internal static class HotPatchReport
{
    public const int MaxRelatedLocations = 100;

    /// <summary>The hot-patch rules speak about x86 and x64 native code.</summary>
    public static Applicability Applicability(PeImage image) =>
        image.Machine is Machine.Amd64 or Machine.I386
            ? Rules.Applicability.ForNativeCode(image)
            : Rules.Applicability.NotApplicable($"machine is {MachineNames.Of(image.Machine)}: hot-patching is checked for x86 and x64");

    public static Finding Build(RuleContext context, string messageId, int checkedCount, OffenderList offenders, params string[] extra)
    {
        var image = context.Image;
        var share = checkedCount == 0 ? 0 : 100.0 * offenders.Count / checkedCount;
        var first = offenders.Listed[0].Entry;
        var related = offenders.Listed
            .Select(o => new FindingLocation(image.FileOffsetOf(o.Entry.Rva), 1, o.Entry.Rva, o.Entry.Name, o.Entry.Rva, o.Detail))
            .ToList();
        var capNote = offenders.Count > MaxRelatedLocations ? $"; the first {MaxRelatedLocations} are listed" : string.Empty;
        string[] arguments =
        [
            context.FileName,
            offenders.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            checkedCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            share.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture),
            capNote,
            .. extra,
        ];
        var finding = context.Report(messageId, new FindingLocation(image.FileOffsetOf(first.Rva), 1, first.Rva, first.Name, first.Rva, "first non-compliant function"), "image", arguments);
        return finding with
        {
            RelatedLocations = related,
            Properties = new Dictionary<string, object>
            {
                ["functionsChecked"] = checkedCount,
                ["functionsNonCompliant"] = offenders.Count,
            },
        };
    }
}

