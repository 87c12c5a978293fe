using Pelint.Analysis.HotPatch;

namespace Pelint.Rules;

/// <summary>
/// The entries a hot-patch rule finds wanting: all are counted, the first <see cref="MaxListed"/>
/// (the rule's max-related-locations) are kept with a detail (on a large image most entries can
/// fail, and a detail string for each would be built for nothing).
/// </summary>
internal sealed class OffenderList(int maxListed)
{
    private readonly List<(PatchableEntry Entry, string Detail)> _listed = [];

    public int MaxListed { get; } = maxListed;

    public int Count { get; private set; }

    /// <summary>Whether the next offender is listed, so its detail is worth describing.</summary>
    public bool Listing => _listed.Count < MaxListed;

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
