namespace Pelint.Analysis.StackWalk;

/// <summary>
/// Values by RVA in an open-addressed table that a generation count empties, for lookups made
/// at every instruction of a walk that starts over for every function (a dictionary clears all
/// its buckets each time). Every function starts in the smallest table, which most fit; a larger
/// one moves to tables twice as large in turn, kept for the next large function.
/// </summary>
internal sealed class RvaTable<T>
    where T : class
{
    private const int SmallCapacity = 128;

    // Kept tables by size (SmallCapacity << index). Generations only grow, so a kept table's
    // slots, all written with an earlier generation, read as empty (their values stay referenced
    // until overwritten: the caller's pooled objects).
    private readonly List<(uint[] Keys, int[] Generations, T?[] Values)> _kept = [(new uint[SmallCapacity], new int[SmallCapacity], new T?[SmallCapacity])];
    private uint[] _keys;
    private int[] _generations;
    private T?[] _values;
    private int _level;
    private int _generation = 1;
    private int _count;

    public RvaTable() => (_keys, _generations, _values) = _kept[0];

    /// <summary>Forgets every entry.</summary>
    public void Clear()
    {
        _count = 0;
        (_keys, _generations, _values) = _kept[0];
        _level = 0;
        if (++_generation == int.MaxValue)
        {
            foreach (var (_, generations, _) in _kept)
            {
                Array.Clear(generations);
            }

            _generation = 1;
        }
    }

    public bool TryGetValue(uint rva, out T value)
    {
        var mask = _keys.Length - 1;
        for (var slot = Hash(rva) & mask; _generations[slot] == _generation; slot = (slot + 1) & mask)
        {
            if (_keys[slot] == rva)
            {
                value = _values[slot]!;
                return true;
            }
        }

        value = null!;
        return false;
    }

    public bool ContainsKey(uint rva) => TryGetValue(rva, out _);

    /// <summary>Adds a value for an RVA not in the table yet.</summary>
    public void Add(uint rva, T value)
    {
        if ((_count + 1) * 2 > _keys.Length)
        {
            Grow();
        }

        Insert(rva, value);
        _count++;
    }

    private void Insert(uint rva, T value)
    {
        var mask = _keys.Length - 1;
        var slot = Hash(rva) & mask;
        while (_generations[slot] == _generation)
        {
            slot = (slot + 1) & mask;
        }

        _generations[slot] = _generation;
        _keys[slot] = rva;
        _values[slot] = value;
    }

    // Moves the entries to the table twice the size (kept, or new and then kept).
    private void Grow()
    {
        var (keys, generations, values) = (_keys, _generations, _values);
        if (++_level == _kept.Count)
        {
            _kept.Add((new uint[keys.Length * 2], new int[keys.Length * 2], new T?[keys.Length * 2]));
        }

        (_keys, _generations, _values) = _kept[_level];
        for (var k = 0; k < keys.Length; k++)
        {
            if (generations[k] == _generation)
            {
                Insert(keys[k], values[k]!);
            }
        }
    }

    // Fibonacci hashing: instruction addresses are dense, and the product spreads them.
    private static int Hash(uint rva) => (int)((rva * 2654435769u) >> 8);
}
