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
/// costs nothing however large the last one was (a dictionary clears all its buckets).
/// </summary>
internal sealed class DecodedInstructions
{
    private const int MinCapacity = 256;

    private uint[] _keys = new uint[MinCapacity];
    private int[] _generations = new int[MinCapacity];
    private Instruction[] _instructions = new Instruction[MinCapacity];
    private CallFacts[] _facts = new CallFacts[MinCapacity];
    private int _generation = 1;
    private int _count;

    public int Count => _count;

    /// <summary>Forgets every instruction; a table grown past twice <paramref name="keep"/> entries is let go for a smaller one.</summary>
    public void Clear(int keep)
    {
        _count = 0;
        if (_keys.Length > 2 * Math.Max(keep, MinCapacity))
        {
            Allocate(Capacity(keep));
            return;
        }

        if (++_generation == int.MaxValue)
        {
            Array.Clear(_generations);
            _generation = 1;
        }
    }

    /// <summary>The instruction decoded at <paramref name="rva"/> in this function, if any.</summary>
    public bool TryGet(uint rva, out Instruction instruction, out CallFacts facts)
    {
        var mask = _keys.Length - 1;
        for (var slot = Hash(rva) & mask; _generations[slot] == _generation; slot = (slot + 1) & mask)
        {
            if (_keys[slot] == rva)
            {
                instruction = _instructions[slot];
                facts = _facts[slot];
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
        if ((_count + 1) * 2 > _keys.Length)
        {
            Grow();
        }

        Insert(rva, instruction, facts);
        _count++;
    }

    private void Insert(uint rva, in Instruction instruction, CallFacts facts)
    {
        var mask = _keys.Length - 1;
        var slot = Hash(rva) & mask;
        while (_generations[slot] == _generation)
        {
            slot = (slot + 1) & mask;
        }

        _generations[slot] = _generation;
        _keys[slot] = rva;
        _instructions[slot] = instruction;
        _facts[slot] = facts;
    }

    private void Grow()
    {
        var (keys, generations, instructions, facts, generation) = (_keys, _generations, _instructions, _facts, _generation);
        Allocate(keys.Length * 2);
        for (var k = 0; k < keys.Length; k++)
        {
            if (generations[k] == generation)
            {
                Insert(keys[k], instructions[k], facts[k]);
            }
        }
    }

    private void Allocate(int capacity)
    {
        _keys = new uint[capacity];
        _generations = new int[capacity];
        _instructions = new Instruction[capacity];
        _facts = new CallFacts[capacity];
        _generation = 1;
    }

    private static int Capacity(int entries) => (int)Math.Max(MinCapacity, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)entries * 2));

    // Fibonacci hashing: instruction addresses are dense, and the top bits of the product spread them.
    private static int Hash(uint rva) => (int)((rva * 2654435769u) >> 8);
}
