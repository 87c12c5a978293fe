using Pelint.Pe.Exceptions;

namespace Pelint.Analysis.StackWalk;

/// <summary>
/// One function as .pdata describes it: its primary entry and every entry whose chain ends at it
/// (chained fragments, low-bit indirect entries), sorted by address. Code anywhere in these
/// ranges is the function's; a jump elsewhere leaves it.
/// </summary>
public sealed class FunctionLayout
{
    private RuntimeFunction[] _fragments;

    /// <param name="primary">The primary entry.</param>
    /// <param name="fragments">The primary and the entries chained to it; the layout owns and sorts the array.</param>
    public FunctionLayout(RuntimeFunction primary, RuntimeFunction[] fragments)
    {
        ArgumentNullException.ThrowIfNull(fragments);
        Primary = primary;
        if (fragments.Length > 1)
        {
            // Stable, as the LINQ sort it replaces: equal starts keep their directory order.
            var keys = new ulong[fragments.Length];
            for (var k = 0; k < fragments.Length; k++)
            {
                keys[k] = ((ulong)fragments[k].BeginAddress << 32) | (uint)k;
            }

            Array.Sort(keys, fragments);
        }

        _fragments = fragments;
    }

    public RuntimeFunction Primary { get; private set; }

    /// <summary>
    /// Makes this the layout of a function with no fragments (most functions): a worker reuses
    /// one such layout from function to function instead of making one each.
    /// </summary>
    internal FunctionLayout ResetToSingle(RuntimeFunction primary)
    {
        if (_fragments.Length != 1)
        {
            _fragments = new RuntimeFunction[1];
        }

        Primary = primary;
        _fragments[0] = primary;
        return this;
    }

    /// <summary>The primary and its fragments, by address.</summary>
    public IReadOnlyList<RuntimeFunction> Fragments => _fragments;

    /// <summary>Whether <paramref name="rva"/> lies in one of the function's ranges.</summary>
    public bool Contains(ulong rva) => FragmentAt(rva) >= 0;

    /// <summary>The index in <see cref="Fragments"/> of the range holding <paramref name="rva"/>, or -1.</summary>
    public int FragmentAt(ulong rva)
    {
        int lo = 0, hi = _fragments.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var f = _fragments[mid];
            if (rva < f.BeginAddress)
            {
                hi = mid - 1;
            }
            else if (rva >= f.EndAddress)
            {
                lo = mid + 1;
            }
            else
            {
                return mid;
            }
        }

        return -1;
    }

    /// <summary>The range holding <paramref name="rva"/> (begin, end exclusive); false when none does.</summary>
    public bool TryRangeAt(ulong rva, out uint begin, out uint end)
    {
        var at = FragmentAt(rva);
        (begin, end) = at >= 0 ? (_fragments[at].BeginAddress, _fragments[at].EndAddress) : (0u, 0u);
        return at >= 0;
    }

    /// <summary>Bytes in all ranges.</summary>
    public long Size => _fragments.Sum(f => (long)f.Length);
}
