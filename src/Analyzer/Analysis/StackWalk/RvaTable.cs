using System.Runtime.CompilerServices;

namespace Pelint.Analysis.StackWalk;

/// <summary>
/// Values by RVA in an open-addressed table that a generation count empties, for lookups made
/// at every instruction of a walk that starts over for every function or callee (a dictionary or
/// hash set clears all its buckets each time). Every walk starts in the smallest table, which most
/// fit and which stays in the cache; a larger one moves to tables twice as large in turn, kept for
/// the next large walk up to a capacity, so one large walk does not spread every later one's few
/// entries over a large table.
/// </summary>
internal sealed class RvaTable<T>
{
    // Kept tables by size (smallest << index). Generations only grow, so a kept table's slots,
    // all written with an earlier generation, read as empty (their values stay referenced until
    // overwritten: the callers' pooled objects, or structs).
    private readonly List<Slots> _kept = [];
    private readonly int _keptCapacity;
    private Slots _slots;
    private int _level;
    private int _generation = 1;

    /// <param name="smallCapacity">The first table's slots (a power of two).</param>
    /// <param name="keptCapacity">Tables up to this many slots are kept from one walk to the next; larger ones are let go.</param>
    public RvaTable(int smallCapacity, int keptCapacity = int.MaxValue)
    {
        _keptCapacity = keptCapacity;
        _slots = new Slots(smallCapacity);
        _kept.Add(_slots);
    }

    public int Count { get; private set; }

    /// <summary>Forgets every entry.</summary>
    public void Clear()
    {
        Count = 0;
        _slots = _kept[0];
        _level = 0;
        if (++_generation == int.MaxValue)
        {
            foreach (var slots in _kept)
            {
                Array.Clear(slots.Keys);
            }

            _generation = 1;
        }
    }

    public bool TryGetValue(uint rva, out T value)
    {
        var slot = Probe(rva);
        if (slot >= 0)
        {
            value = _slots.Values[slot];
            return true;
        }

        value = default!;
        return false;
    }

    /// <summary>The value stored for <paramref name="rva"/>, in place (a large struct is not copied), or a null reference (see <see cref="Unsafe.IsNullRef{T}(ref readonly T)"/>).</summary>
    public ref readonly T Find(uint rva)
    {
        var slot = Probe(rva);
        return ref slot >= 0 ? ref _slots.Values[slot] : ref Unsafe.NullRef<T>();
    }

    public bool ContainsKey(uint rva) => Probe(rva) >= 0;

    /// <summary>Adds a value for an RVA not in the table yet.</summary>
    public void Add(uint rva, in T value)
    {
        if ((Count + 1) * 2 > _slots.Keys.Length)
        {
            Grow();
        }

        Insert(_slots, rva, value);
        Count++;
    }

    /// <summary>Adds a value for <paramref name="rva"/>; false (and nothing changed) when the RVA is in the table already.</summary>
    public bool TryAdd(uint rva, in T value)
    {
        var slots = _slots;
        var mask = slots.Keys.Length - 1;
        var slot = Hash(rva) & mask;
        for (; slots.Keys[slot].Generation == _generation; slot = (slot + 1) & mask)
        {
            if (slots.Keys[slot].Rva == rva)
            {
                return false;
            }
        }

        if ((Count + 1) * 2 > slots.Keys.Length)
        {
            Add(rva, value);
            return true;
        }

        // The probe ended at the free slot the insert would take.
        slots.Keys[slot] = new Key(rva, _generation);
        slots.Values[slot] = value;
        Count++;
        return true;
    }

    // The slot holding `rva`, or -1.
    private int Probe(uint rva)
    {
        var slots = _slots;
        var mask = slots.Keys.Length - 1;
        for (var slot = Hash(rva) & mask; slots.Keys[slot].Generation == _generation; slot = (slot + 1) & mask)
        {
            if (slots.Keys[slot].Rva == rva)
            {
                return slot;
            }
        }

        return -1;
    }

    private void Insert(Slots slots, uint rva, in T value)
    {
        var mask = slots.Keys.Length - 1;
        var slot = Hash(rva) & mask;
        while (slots.Keys[slot].Generation == _generation)
        {
            slot = (slot + 1) & mask;
        }

        slots.Keys[slot] = new Key(rva, _generation);
        slots.Values[slot] = value;
    }

    // Moves the entries to the table twice the size (a kept one, or a new one, kept when small enough).
    private void Grow()
    {
        var old = _slots;
        _level++;
        if (_level < _kept.Count)
        {
            _slots = _kept[_level];
        }
        else
        {
            _slots = new Slots(old.Keys.Length * 2);
            if (_slots.Keys.Length <= _keptCapacity)
            {
                _kept.Add(_slots);
            }
        }

        for (var k = 0; k < old.Keys.Length; k++)
        {
            if (old.Keys[k].Generation == _generation)
            {
                Insert(_slots, old.Keys[k].Rva, old.Values[k]);
            }
        }
    }

    // Fibonacci hashing: instruction addresses are dense, and the product spreads them.
    private static int Hash(uint rva) => (int)((rva * 2654435769u) >> 8);

    // An RVA with the generation that wrote it, side by side: a probe reads one array.
    private readonly record struct Key(uint Rva, int Generation);

    private sealed class Slots(int capacity)
    {
        public Key[] Keys { get; } = new Key[capacity];

        public T[] Values { get; } = new T[capacity];
    }
}
