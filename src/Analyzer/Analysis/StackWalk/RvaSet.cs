namespace Pelint.Analysis.StackWalk;

/// <summary>
/// A set of RVAs that a generation count empties: an open-addressed table, so a walk that starts
/// over for every function (or callee) does not clear buckets sized by the largest walk so far.
/// </summary>
internal sealed class RvaSet
{
    private const int MinCapacity = 64;

    private uint[] _keys = new uint[MinCapacity];
    private int[] _generations = new int[MinCapacity];
    private int _generation = 1;

    public int Count { get; private set; }

    public void Clear()
    {
        Count = 0;
        if (++_generation == int.MaxValue)
        {
            Array.Clear(_generations);
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

    private void Grow()
    {
        var (keys, generations, generation) = (_keys, _generations, _generation);
        _keys = new uint[keys.Length * 2];
        _generations = new int[keys.Length * 2];
        _generation = 1;
        Count = 0;
        for (var k = 0; k < keys.Length; k++)
        {
            if (generations[k] == generation)
            {
                Add(keys[k]);
            }
        }
    }

    // Fibonacci hashing: instruction addresses are dense, and the product spreads them.
    private static int Hash(uint rva) => (int)((rva * 2654435769u) >> 8);
}
