using Pelint.Analysis.HotPatch;

namespace Pelint.Rules;

/// <summary>
/// The entries a hot-patch rule finds wanting: all are counted, the first
/// <see cref="HotPatchReport.MaxRelatedLocations"/> are kept with a detail (on a large image
/// most entries can fail, and a detail string for each would be built for nothing).
/// </summary>
internal sealed class OffenderList
{
    private readonly List<(PatchableEntry Entry, string Detail)> _listed = [];

    public int Count { get; private set; }

    /// <summary>Whether the next offender is listed, so its detail is worth describing.</summary>
    public bool Listing => _listed.Count < HotPatchReport.MaxRelatedLocations;

    public IReadOnlyList<(PatchableEntry Entry, string Detail)> Listed => _listed;

    public void Add(PatchableEntry entry, string detail)
    {
        if (Listing)
        {
            _listed.Add((entry, detail));
        }

        Count++;
    }
}
