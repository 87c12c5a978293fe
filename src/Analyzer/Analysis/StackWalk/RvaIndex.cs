namespace Pelint.Analysis.StackWalk;

/// <summary>
/// Non-negative numbers by RVA for one function's walk: a table indexed by offset over the
/// function's primary range (up to <see cref="MaxDirect"/> bytes), where nearly every lookup
/// lands without hashing, and an <see cref="RvaTable{T}"/> for the rest (chained fragments
/// elsewhere, the end of a very large function). A generation count in each entry empties the
/// table for the next function without clearing it.
/// </summary>
internal sealed class RvaIndex
{
    /// <summary>Bytes of a range covered by the direct table (512 KiB of entries at most).</summary>
    public const int MaxDirect = 1 << 16;

    private readonly RvaTable<int> _others;
    private ulong[] _direct = new ulong[1024];
    private uint _begin;
    private uint _length;
    private uint _generation = 1;

    public RvaIndex(int smallCapacity, int keptCapacity = int.MaxValue) => _others = new RvaTable<int>(smallCapacity, keptCapacity);

    /// <summary>Forgets every entry; the next ones are mostly in [<paramref name="begin"/>, <paramref name="end"/>).</summary>
    public void Clear(uint begin, uint end)
    {
        _others.Clear();
        _begin = begin;
        _length = end > begin ? Math.Min(end - begin, MaxDirect) : 0;
        if (_direct.Length < _length)
        {
            _direct = new ulong[Math.Min(MaxDirect, (int)System.Numerics.BitOperations.RoundUpToPowerOf2(_length))];
            _generation = 1;
        }
        else if (++_generation == uint.MaxValue)
        {
            Array.Clear(_direct);
            _generation = 1;
        }
    }

    public bool TryGetValue(uint rva, out int value)
    {
        var offset = rva - _begin;
        if (offset < _length)
        {
            var entry = _direct[offset];
            value = (int)(uint)entry;
            return (uint)(entry >> 32) == _generation;
        }

        return _others.TryGetValue(rva, out value);
    }

    public bool ContainsKey(uint rva) => TryGetValue(rva, out _);

    /// <summary>Adds a value for an RVA not in the index yet.</summary>
    public void Add(uint rva, int value)
    {
        var offset = rva - _begin;
        if (offset < _length)
        {
            _direct[offset] = ((ulong)_generation << 32) | (uint)value;
            return;
        }

        _others.Add(rva, value);
    }
}
