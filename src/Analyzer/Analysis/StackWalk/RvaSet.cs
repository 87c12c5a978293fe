namespace Pelint.Analysis.StackWalk;

/// <summary>
/// A set of RVAs that a generation count empties: an open-addressed table, so a walk that starts
/// over for every function (or callee) does not clear buckets sized by the largest walk so far.
/// Every walk starts in the smallest table, which most fit and which stays in the cache; a larger
/// one moves to tables twice as large in turn, kept for the next large walk.
/// </summary>
internal sealed class RvaSet
{
    private const int SmallCapacity = 256;

    // Kept tables by size (SmallCapacity << index). Generations only grow, so a kept table's
    // slots, all written with an earlier generation, read as empty.
    private readonly List<(uint[] Keys, int[] Generations)> _kept = [(new uint[SmallCapacity], new int[SmallCapacity])];
    private uint[] _keys;
    private int[] _generations;
    private int _level;
    private int _generation = 1;

    public RvaSet() => (_keys, _generations) = _kept[0];

    public int Count { get; private set; }

    public void Clear()
    {
        Count = 0;
        (_keys, _generations) = _kept[0];
        _level = 0;
        if (++_generation == int.MaxValue)
        {
            foreach (var (_, generations) in _kept)
            {
                Array.Clear(generations);
            }

            _generation = 1;
        }
    }

    /// <summary>Adds <paramref name="rva"/>; false when it is already in the set.</summary>
    public bool Add(uint rva)
    {
        var mask = _keys.Length - 1;
        var slot = Hash(rva) & mask;
        for (; _generations[slot] == _generation; slot = (slot + 1) & mask)
        {
            if (_keys[slot] == rva)
            {
                return false;
            }
        }

        if ((Count + 1) * 2 > _keys.Length)
        {
            Grow();
            return Add(rva);
        }

        _generations[slot] = _generation;
        _keys[slot] = rva;
        Count++;
        return true;
    }

    // Moves the entries to the table twice the size (kept, or new and then kept).
    private void Grow()
    {
        var (keys, generations) = (_keys, _generations);
        if (++_level == _kept.Count)
        {
            _kept.Add((new uint[keys.Length * 2], new int[keys.Length * 2]));
        }

        (_keys, _generations) = _kept[_level];
        Count = 0;
        for (var k = 0; k < keys.Length; k++)
        {
            if (generations[k] == _generation)
            {
                Add(keys[k]);
            }
        }
    }

    // Fibonacci hashing: instruction addresses are dense, and the product spreads them.
    private static int Hash(uint rva) => (int)((rva * 2654435769u) >> 8);
}
