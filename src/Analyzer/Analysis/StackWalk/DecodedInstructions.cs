using Iced.Intel;

namespace Pelint.Analysis.StackWalk;

/// <summary>What the verifier works out once about a call instruction it decoded.</summary>
[Flags]
internal enum CallFacts : byte
{
    None = 0,

    /// <summary>The callee never returns (see <see cref="NoReturnFunctions"/>).</summary>
    NeverReturns = 1,

    /// <summary>A stack probe: it returns with RAX unchanged for the prolog to subtract from RSP.</summary>
    KeepsRax = 2,
}

/// <summary>
/// The instructions decoded in one function, by RVA, with the <see cref="CallFacts"/> of each:
/// an open-addressed table that a generation count empties, so moving on to the next function
/// costs nothing (a dictionary clears all its buckets). Every function starts in the smallest
/// table, which most fit and which stays in the cache; a larger function moves to tables twice
/// as large in turn, kept for the next large function up to <see cref="KeptCapacity"/> slots, so
/// one large function does not spread every later one's few instructions over a large table.
/// </summary>
internal sealed class DecodedInstructions
{
    /// <summary>Tables up to this many slots are kept from one function to the next; larger ones are let go.</summary>
    public const int KeptCapacity = 16384;

    private const int SmallCapacity = 512;

    // Kept tables by size (SmallCapacity << index). Generations only grow, so a kept table's
    // slots, all written with an earlier generation, read as empty.
    private readonly List<Table> _kept = [];
    private Table _table;
    private int _level;
    private int _generation = 1;
    private int _count;

    public DecodedInstructions()
    {
        _table = new Table(SmallCapacity);
        _kept.Add(_table);
    }

    public int Count => _count;

    /// <summary>Forgets every instruction.</summary>
    public void Clear()
    {
        _count = 0;
        _table = _kept[0];
        _level = 0;
        if (++_generation == int.MaxValue)
        {
            foreach (var table in _kept)
            {
                Array.Clear(table.Generations);
            }

            _generation = 1;
        }
    }

    /// <summary>The instruction decoded at <paramref name="rva"/> in this function, if any.</summary>
    public bool TryGet(uint rva, out Instruction instruction, out CallFacts facts)
    {
        var table = _table;
        var mask = table.Keys.Length - 1;
        for (var slot = Hash(rva) & mask; table.Generations[slot] == _generation; slot = (slot + 1) & mask)
        {
            if (table.Keys[slot] == rva)
            {
                instruction = table.Instructions[slot];
                facts = table.Facts[slot];
                return true;
            }
        }

        instruction = default;
        facts = CallFacts.None;
        return false;
    }

    /// <summary>Adds the instruction at <paramref name="rva"/> (not in the table yet).</summary>
    public void Add(uint rva, in Instruction instruction, CallFacts facts)
    {
        if ((_count + 1) * 2 > _table.Keys.Length)
        {
            Grow();
        }

        Insert(_table, rva, instruction, facts);
        _count++;
    }

    private void Insert(Table table, uint rva, in Instruction instruction, CallFacts facts)
    {
        var mask = table.Keys.Length - 1;
        var slot = Hash(rva) & mask;
        while (table.Generations[slot] == _generation)
        {
            slot = (slot + 1) & mask;
        }

        table.Generations[slot] = _generation;
        table.Keys[slot] = rva;
        table.Instructions[slot] = instruction;
        table.Facts[slot] = facts;
    }

    // Moves the entries to the table twice the size (a kept one, or a new one).
    private void Grow()
    {
        var old = _table;
        var capacity = old.Keys.Length * 2;
        _level++;
        if (_level < _kept.Count)
        {
            _table = _kept[_level];
        }
        else
        {
            _table = new Table(capacity);
            if (capacity <= KeptCapacity)
            {
                _kept.Add(_table);
            }
        }

        for (var k = 0; k < old.Keys.Length; k++)
        {
            if (old.Generations[k] == _generation)
            {
                Insert(_table, old.Keys[k], old.Instructions[k], old.Facts[k]);
            }
        }
    }

    // Fibonacci hashing: instruction addresses are dense, and the product spreads them.
    private static int Hash(uint rva) => (int)((rva * 2654435769u) >> 8);

    private sealed class Table(int capacity)
    {
        public uint[] Keys { get; } = new uint[capacity];

        public int[] Generations { get; } = new int[capacity];

        public Instruction[] Instructions { get; } = new Instruction[capacity];

        public CallFacts[] Facts { get; } = new CallFacts[capacity];
    }
}
