using System.Globalization;
using System.Reflection.PortableExecutable;
using Pelint.Pe;
using Pelint.Pe.Headers;

namespace Pelint.Rules;

/// <summary>The per-image result shape of the hot-patch rules: counts, share, and capped related locations.</summary>
internal static class HotPatchReport
{
    /// <summary>The hot-patch rules speak about x86 and x64 native code.</summary>
    public static Applicability Applicability(PeImage image) =>
        image.Machine is Machine.Amd64 or Machine.I386
            ? Rules.Applicability.ForNativeCode(image)
            : Rules.Applicability.NotApplicable($"machine is {MachineNames.Of(image.Machine)}: hot-patching is checked for x86 and x64");

    /// <summary>What every hot-patch result says: where (the first offender), how many of how many, and which.</summary>
    public static HotPatchSummary Summarize(RuleContext context, int checkedCount, OffenderList offenders)
    {
        var image = context.Image;
        var first = offenders.Listed[0].Entry;
        var share = checkedCount == 0 ? 0 : 100.0 * offenders.Count / checkedCount;
        return new HotPatchSummary(
            new FindingLocation(image.FileOffsetOf(first.Rva), 1, first.Rva, first.Name, first.Rva, "first non-compliant function"),
            context.FileName,
            offenders.Count,
            checkedCount,
            share.ToString("0.#", CultureInfo.InvariantCulture),
            offenders.Count > offenders.MaxListed ? $"; the first {offenders.MaxListed.ToString(CultureInfo.InvariantCulture)} are listed" : string.Empty,
            [.. offenders.Listed.Select(o => new FindingLocation(image.FileOffsetOf(o.Entry.Rva), 1, o.Entry.Rva, o.Entry.Name, o.Entry.Rva, o.Detail))]);
    }
}

/// <summary>
/// The arguments the hot-patch messages share ({0} file, {1} non-compliant, {2} checked, {3} share
/// in percent, {4} the note that the list is cut), and the related locations and counts every
/// such result carries (<see cref="Complete"/>).
/// </summary>
internal sealed record HotPatchSummary(FindingLocation Where, string File, int NonCompliant, int Checked, string Share, string CapNote, IReadOnlyList<FindingLocation> Related)
{
    public Finding Complete(Finding finding) => finding with
    {
        RelatedLocations = Related,
        Properties = new Dictionary<string, object>
        {
            ["functionsChecked"] = Checked,
            ["functionsNonCompliant"] = NonCompliant,
        },
    };
}
