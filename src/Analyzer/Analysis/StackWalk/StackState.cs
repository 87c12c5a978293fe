namespace Pelint.Analysis.StackWalk;

/// <summary>
/// The true machine state before one instruction, as far as unwinding cares: the 16 general
/// registers (RSP among them) and the 8-byte stack slots the function wrote, all as
/// <see cref="Sym"/>s relative to the function's entry. A slot nobody wrote is unknown, except
/// the return address at entry RSP. Mutable, copied at branches; joins only lose knowledge, so a
/// fixed point is reached.
/// </summary>
public sealed class StackState : IEquatable<StackState>
{
    /// <summary>A function writing more slots than this keeps the ones nearest the return address.</summary>
    public const int MaxSlots = 48;

    public const int Rsp = 4;

    // Most states hold a few slots: the arrays start small and grow up to MaxSlots.
    private const int InitialSlots = 8;

    private readonly Sym[] _registers = new Sym[16];
    private long[] _slotOffsets = new long[InitialSlots];
    private Sym[] _slotValues = new Sym[InitialSlots];
    private int _slotCount;

    private StackState()
    {
    }

    /// <summary>The state at the function's first instruction.</summary>
    public static StackState AtEntry()
    {
        var state = new StackState();
        state.ResetToEntry();
        return state;
    }

    /// <summary>Makes this the state at the function's first instruction (what <see cref="AtEntry"/> returns).</summary>
    public void ResetToEntry()
    {
        for (var r = 0; r < 16; r++)
        {
            _registers[r] = r == Rsp ? Sym.Stack(0) : Sym.Entry(r);
        }

        Deepest = 0;
        _slotCount = 0;
        SlotVersion++;
        Write(0, Sym.ReturnAddress);
    }

    public Sym this[int register]
    {
        get => _registers[register];
        set
        {
            if (register == Rsp)
            {
                StackPointer = value;
            }
            else
            {
                _registers[register] = value;
            }
        }
    }

    public Sym StackPointer
    {
        get => _registers[Rsp];
        set
        {
            _registers[Rsp] = value;
            if (value.IsStack && value.Offset < Deepest)
            {
                Deepest = value.Offset;
            }
        }
    }

    /// <summary>The sixteen general registers, RSP at <see cref="Rsp"/>.</summary>
    internal ReadOnlySpan<Sym> Registers => _registers;

    /// <summary>
    /// The deepest RSP (relative to entry) on the paths that lead here: whether the frame was
    /// ever built, which tells a frame being released from one not built yet.
    /// </summary>
    public long Deepest { get; private set; }

    /// <summary>
    /// Changes whenever a slot is written, forgotten or the whole state is overwritten (never
    /// repeats for one object): equal versions mean the same slots, so an answer computed from
    /// them can be reused.
    /// </summary>
    public int SlotVersion { get; private set; }

    /// <summary>Offsets and values of the slots written, nearest the deepest first.</summary>
    public int SlotCount => _slotCount;

    public (long Offset, Sym Value) Slot(int index) => (_slotOffsets[index], _slotValues[index]);

    /// <summary>The 8 bytes at entry RSP + <paramref name="offset"/>.</summary>
    public Sym Read(long offset)
    {
        var at = Find(offset);
        return at >= 0 ? _slotValues[at] : Sym.Unknown;
    }

    /// <summary>The 8 bytes at an address, when the address is a known stack address.</summary>
    public Sym Read(Sym address) => address.IsStack ? Read(address.Offset) : Sym.Unknown;

    /// <summary>Stores 8 bytes at entry RSP + <paramref name="offset"/>; overlapping slots are forgotten.</summary>
    public void Write(long offset, Sym value)
    {
        Forget(offset, offset + 8);
        if (!value.IsKnown)
        {
            return;
        }

        if (_slotCount == MaxSlots)
        {
            // Keep the slots nearest the return address: saved registers live there.
            if (offset < _slotOffsets[0])
            {
                return;
            }

            RemoveAt(0);
        }

        Reserve(_slotCount + 1);
        var at = 0;
        while (at < _slotCount && _slotOffsets[at] < offset)
        {
            at++;
        }

        Array.Copy(_slotOffsets, at, _slotOffsets, at + 1, _slotCount - at);
        Array.Copy(_slotValues, at, _slotValues, at + 1, _slotCount - at);
        _slotOffsets[at] = offset;
        _slotValues[at] = value;
        _slotCount++;
        SlotVersion++;
    }

    /// <summary>Forgets every slot that overlaps [from, to) (a store of another size, a callee's home space).</summary>
    public void Forget(long from, long to)
    {
        for (var k = _slotCount - 1; k >= 0; k--)
        {
            if (_slotOffsets[k] < to && _slotOffsets[k] + 8 > from)
            {
                RemoveAt(k);
            }
        }
    }

    public StackState Clone()
    {
        var copy = new StackState();
        CopyTo(copy);
        return copy;
    }

    public void CopyTo(StackState target)
    {
        target.Reserve(_slotCount);
        // Span copies: Array.Copy's type checks cost more than copying a few slots.
        _registers.AsSpan().CopyTo(target._registers);
        target.Deepest = Deepest;
        _slotOffsets.AsSpan(0, _slotCount).CopyTo(target._slotOffsets);
        _slotValues.AsSpan(0, _slotCount).CopyTo(target._slotValues);
        target._slotCount = _slotCount;
        target.SlotVersion++;
    }

    /// <summary>Joins <paramref name="other"/> into this state: what differs becomes unknown. True when this state changed.</summary>
    public bool JoinWith(StackState other)
    {
        var changed = false;
        if (other.Deepest < Deepest)
        {
            Deepest = other.Deepest;
            changed = true;
        }

        for (var r = 0; r < 16; r++)
        {
            if (_registers[r] != other._registers[r] && _registers[r].IsKnown)
            {
                _registers[r] = Sym.Unknown;
                changed = true;
            }
        }

        // Both slot lists are sorted by offset, each offset once: one merge keeps the slots that agree.
        var kept = 0;
        var j = 0;
        for (var k = 0; k < _slotCount; k++)
        {
            var offset = _slotOffsets[k];
            while (j < other._slotCount && other._slotOffsets[j] < offset)
            {
                j++;
            }

            if (j < other._slotCount && other._slotOffsets[j] == offset && other._slotValues[j] == _slotValues[k])
            {
                _slotOffsets[kept] = offset;
                _slotValues[kept] = _slotValues[k];
                kept++;
            }
        }

        if (kept != _slotCount)
        {
            _slotCount = kept;
            SlotVersion++;
            changed = true;
        }

        return changed;
    }

    public bool Equals(StackState? other)
    {
        if (other is null || other._slotCount != _slotCount || other.Deepest != Deepest)
        {
            return false;
        }

        for (var r = 0; r < 16; r++)
        {
            if (_registers[r] != other._registers[r])
            {
                return false;
            }
        }

        for (var k = 0; k < _slotCount; k++)
        {
            if (_slotOffsets[k] != other._slotOffsets[k] || _slotValues[k] != other._slotValues[k])
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as StackState);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(_registers[Rsp]);
        hash.Add(_slotCount);
        return hash.ToHashCode();
    }

    private int Find(long offset)
    {
        for (var k = 0; k < _slotCount; k++)
        {
            if (_slotOffsets[k] == offset)
            {
                return k;
            }
        }

        return -1;
    }

    private void Reserve(int count)
    {
        if (count > _slotOffsets.Length)
        {
            var size = Math.Min(MaxSlots, Math.Max(count, _slotOffsets.Length * 2));
            Array.Resize(ref _slotOffsets, size);
            Array.Resize(ref _slotValues, size);
        }
    }

    private void RemoveAt(int index)
    {
        Array.Copy(_slotOffsets, index + 1, _slotOffsets, index, _slotCount - index - 1);
        Array.Copy(_slotValues, index + 1, _slotValues, index, _slotCount - index - 1);
        _slotCount--;
        SlotVersion++;
    }
}
