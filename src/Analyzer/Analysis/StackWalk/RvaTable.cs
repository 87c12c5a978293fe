namespace Pelint.Analysis.StackWalk;

/// <summary>
/// Values by RVA in an open-addressed table that a generation count empties, for lookups made
/// at every instruction of a walk that starts over for every function (a dictionary clears all
/// its buckets each time).
/// </summary>
internal sealed class RvaTable<T>
    where T : class
{
    private const int MinCapacity = 64;

    private uint[] _keys = new uint[MinCapacity];
    private int[] _generations = new int[MinCapacity];
    private T?[] _values = new T?[MinCapacity];
    private int _generation = 1;
    private int _count;

    /// <summary>Forgets every entry; a table grown past <paramref name="keep"/> slots is let go for a small one.</summary>
    public void Clear(int keep)
    {
        _count = 0;
        if (_keys.Length > keep)
        {
            Allocate(MinCapacity);
            return;
        }

        // The values stay referenced until overwritten: they are the caller's pooled objects.
        if (++_generation == int.MaxValue)
        {
            Array.Clear(_generations);
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

    private void Grow()
    {
        var (keys, generations, values, generation) = (_keys, _generations, _values, _generation);
        Allocate(keys.Length * 2);
        for (var k = 0; k < keys.Length; k++)
        {
            if (generations[k] == generation)
            {
                Insert(keys[k], values[k]!);
            }
        }
    }

    private void Allocate(int capacity)
    {
        _keys = new uint[capacity];
        _generations = new int[capacity];
        _values = new T?[capacity];
        _generation = 1;
    }

    // Fibonacci hashing: instruction addresses are dense, and the product spreads them.
    private static int Hash(uint rva) => (int)((rva * 2654435769u) >> 8);
}
