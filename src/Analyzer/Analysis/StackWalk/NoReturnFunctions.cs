using System.Collections.Concurrent;
using Iced.Intel;
using Pelint.Pe;
using Pelint.Pe.Code;
using Pelint.Pe.Exceptions;

namespace Pelint.Analysis.StackWalk;

/// <summary>
/// Which call targets never return, so that code discovery does not run on past such a call
/// into padding or a switch table: imports known to end the process or throw (ExitProcess,
/// abort, _CxxThrowException...), their thunks, and functions of the image with no path to a
/// return or a tail jump (every path ends in a trap or another call that never returns). A
/// function is followed through its own .pdata range only; anything unclear counts as
/// returning. Shared by the workers of one image; answers are cached.
/// </summary>
public sealed class NoReturnFunctions(PeImage image)
{
    /// <summary>Calls followed into callees at most this deep.</summary>
    public const int MaxDepth = 3;

    /// <summary>Instructions visited per function before it is taken to return.</summary>
    public const int MaxInstructions = 4096;

    private static readonly HashSet<string> Imports = new(StringComparer.Ordinal)
    {
        "ExitProcess", "ExitThread", "FreeLibraryAndExitThread", "RaiseFailFastException", "RtlExitUserProcess", "RtlExitUserThread",
        "abort", "exit", "_exit", "_Exit", "quick_exit", "_cexit_noreturn", "terminate", "__std_terminate", "_invalid_parameter_noinfo_noreturn",
        "_CxxThrowException", "__CxxThrowException", "_invoke_watson", "__report_gsfailure", "__fastfail", "longjmp", "_longjmp",
    };

    // Keyed by target and depth: an answer cut off at MaxDepth is only true at that depth, and
    // with the depth bound the recursion ends without a cycle guard, so every answer is a pure
    // function of its key and the order in which threads ask never changes it. An answer that
    // was never cut off (Exact) is the same at every smaller depth, where the same walk has more
    // room, so it also answers for them.
    private readonly ConcurrentDictionary<ulong, (bool Answer, bool Exact)> _known = new();

    /// <summary>
    /// A worker's means to answer: a cursor for each depth (callees lie anywhere in the image;
    /// one cursor shared by a function and its callees would refill its window at every return
    /// from a callee, and the verifier's own cursor would lose the function being verified) and
    /// the work lists of each depth, reused from call to call.
    /// </summary>
    public sealed class Probe(PeImage image) : IDisposable
    {
        internal CodeCursor[] Cursors { get; } = [.. Enumerable.Range(0, MaxDepth + 1).Select(_ => image.Code.OpenCursor())];

        internal Stack<uint>[] Pending { get; } = [.. Enumerable.Range(0, MaxDepth + 1).Select(_ => new Stack<uint>())];

        internal RvaTable<bool>[] Seen { get; } = [.. Enumerable.Range(0, MaxDepth + 1).Select(_ => new RvaTable<bool>(smallCapacity: 256))];

        public void Dispose()
        {
            foreach (var cursor in Cursors)
            {
                cursor.Dispose();
            }
        }
    }

    /// <summary>Whether a call of <paramref name="call"/> never comes back.</summary>
    public bool NeverReturns(in Instruction call, Probe probe)
    {
        if (call.Op0Kind == OpKind.Memory && call.IsIPRelativeMemoryOperand)
        {
            return IsNoReturnImport((uint)call.IPRelativeMemoryAddress);
        }

        return call.Op0Kind == OpKind.NearBranch64 && call.NearBranchTarget <= uint.MaxValue && NeverReturns((uint)call.NearBranchTarget, probe, 0, out _);
    }

    private bool IsNoReturnImport(uint slot) => image.Imports.FindBySlot(slot) is { Name: { } name } && Imports.Contains(name);

    // `exact`: the answer did not depend on the depth bound anywhere below.
    private bool NeverReturns(uint target, Probe probe, int depth, out bool exact)
    {
        var key = ((ulong)(uint)depth << 32) | target;
        if (_known.TryGetValue(key, out var known))
        {
            exact = known.Exact;
            return known.Answer;
        }

        for (var deeper = depth + 1; deeper <= MaxDepth; deeper++)
        {
            if (_known.TryGetValue(((ulong)(uint)deeper << 32) | target, out var found) && found.Exact)
            {
                exact = true;
                return found.Answer;
            }
        }

        exact = true;
        var result = Compute(target, probe, depth, ref exact);
        _known[key] = (result, exact);
        return result;
    }

    private bool Compute(uint target, Probe probe, int depth, ref bool exact)
    {
        var cursor = probe.Cursors[depth];
        if (!cursor.TryDecodeAt(target, out var first) || first.IsInvalid)
        {
            return false;
        }

        // A thunk: jmp [rip+IAT slot].
        if (first.Code == Code.Jmp_rm64 && first.IsIPRelativeMemoryOperand)
        {
            return IsNoReturnImport((uint)first.IPRelativeMemoryAddress);
        }

        if (depth >= MaxDepth)
        {
            exact = false;
            return false;
        }

        if (image.ExceptionDirectory.FindByBegin(target) is not { } function)
        {
            return false;
        }

        var pending = probe.Pending[depth];
        var seen = probe.Seen[depth];
        pending.Clear();
        seen.Clear();
        pending.Push(target);
        while (pending.TryPop(out var rva))
        {
            while (true)
            {
                if (!function.Contains(rva) || seen.Count > MaxInstructions)
                {
                    return false; // it runs out of its range, or is too long to tell
                }

                if (!seen.TryAdd(rva, true))
                {
                    break;
                }

                // Only where control goes matters here: measured from a table for most instructions.
                if (!cursor.TryMeasureAt(rva, out var flow))
                {
                    return false;
                }

                var next = rva + (uint)flow.Length;
                switch (flow.Kind)
                {
                    case FlowKind.Return:
                    case FlowKind.IndirectJump:
                        return false;
                    case FlowKind.Jump when flow.Target <= uint.MaxValue && function.Contains((uint)flow.Target):
                        rva = (uint)flow.Target;
                        continue;
                    case FlowKind.Jump:
                        if (!NeverReturnsAt(flow.Target, probe, depth, ref exact))
                        {
                            return false; // a tail call of something that returns
                        }

                        break;
                    case FlowKind.ConditionalJump:
                        if (flow.Target > uint.MaxValue || !function.Contains((uint)flow.Target))
                        {
                            return false;
                        }

                        pending.Push((uint)flow.Target);
                        rva = next;
                        continue;
                    case FlowKind.SlotCall when IsNoReturnImport(flow.Slot):
                    case FlowKind.Call when NeverReturnsAt(flow.Target, probe, depth, ref exact):
                    case FlowKind.Stop:
                        break;
                    default:
                        rva = next;
                        continue;
                }

                break; // this path ends without returning
            }
        }

        return true;
    }

    private bool NeverReturnsAt(ulong target, Probe probe, int depth, ref bool exact)
    {
        if (target > uint.MaxValue)
        {
            return false;
        }

        var answer = NeverReturns((uint)target, probe, depth + 1, out var calleeExact);
        exact &= calleeExact;
        return answer;
    }
}
