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

    // What is known of each target, for each depth (see Answers). An answer is a pure function
    // of target and depth: with the depth bound the recursion ends without a cycle guard, so the
    // order in which threads ask never changes it. Answers are monotone in the room left below a
    // depth: with more room, more callees are found never to return, so a walk follows only paths
    // the walk with less room follows (cut sooner). So "never returns" at a depth holds at every
    // smaller depth, and "returns" at a depth holds at every greater one. An answer that was never
    // cut off (Exact) is the same at every smaller depth, where the same walk has more room.
    private readonly ConcurrentDictionary<uint, Answers> _known = new();

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
        var exact = true;
        return CallNeverReturns(InstructionFlow.From(call), probe, 0, ref exact);
    }

    // A call through an import's slot, or to a function asked at `calleeDepth`.
    private bool CallNeverReturns(in InstructionFlow call, Probe probe, int calleeDepth, ref bool exact) => call.Kind switch
    {
        FlowKind.SlotCall => IsNoReturnImport(call.Slot),
        FlowKind.Call => NeverReturnsAt(call.Target, probe, calleeDepth, ref exact),
        _ => false,
    };

    private bool IsNoReturnImport(uint slot) => image.Imports.FindBySlot(slot) is { Name: { } name } && Imports.Contains(name);

    // `exact`: the answer is also the answer at every smaller depth.
    private bool NeverReturns(uint target, Probe probe, int depth, out bool exact)
    {
        if (_known.TryGetValue(target, out var known) && known.TryAnswer(depth, out var answer, out exact))
        {
            return answer;
        }

        exact = true;
        var result = Compute(target, probe, depth, ref exact);

        // "Never returns" holds at every smaller depth whatever was cut off below.
        exact |= result;
        var learned = Answers.Of(depth, result, exact);
        _known.AddOrUpdate(target, static (_, learned) => learned, static (_, old, learned) => old.With(learned), learned);
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
                        if (!NeverReturnsAt(flow.Target, probe, depth + 1, ref exact))
                        {
                            return false; // a tail call of something that returns
                        }

                        break;
                    case FlowKind.ConditionalJump:
                        if (flow.Target > uint.MaxValue || !function.Contains((uint)flow.Target))
                        {
                            return false;
                        }

                        // Forward branches first: a return is most often at the end, and the
                        // answer does not depend on the order paths are taken in.
                        if (flow.Target > next)
                        {
                            pending.Push(next);
                            rva = (uint)flow.Target;
                        }
                        else
                        {
                            pending.Push((uint)flow.Target);
                            rva = next;
                        }

                        continue;
                    case FlowKind.SlotCall or FlowKind.Call when CallNeverReturns(flow, probe, depth + 1, ref exact):
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

    private bool NeverReturnsAt(ulong target, Probe probe, int calleeDepth, ref bool exact)
    {
        if (target > uint.MaxValue)
        {
            return false;
        }

        var answer = NeverReturns((uint)target, probe, calleeDepth, out var calleeExact);
        exact &= calleeExact;
        return answer;
    }

    /// <summary>The answers known for one target: for each depth, whether it is known, the answer, and whether it is exact.</summary>
    private readonly record struct Answers(ushort Bits)
    {
        public static Answers Of(int depth, bool neverReturns, bool exact) =>
            new((ushort)((1 << depth) | (neverReturns ? 1 << (4 + depth) : 0) | (exact ? 1 << (8 + depth) : 0)));

        // Answers computed by different threads agree (each is a pure function of its depth), so merging is a union.
        public Answers With(Answers other) => new((ushort)(Bits | other.Bits));

        public bool TryAnswer(int depth, out bool neverReturns, out bool exact)
        {
            for (var d = 0; d <= MaxDepth; d++)
            {
                if ((Bits & (1 << d)) == 0)
                {
                    continue;
                }

                var answer = (Bits & (1 << (4 + d))) != 0;
                var isExact = (Bits & (1 << (8 + d))) != 0;
                // Its own depth's answer; one from deeper that holds at smaller depths (exact, or
                // never returns); one from a smaller depth that returns (exact here if it was there).
                if (d == depth || (d > depth && (isExact || answer)) || (d < depth && !answer))
                {
                    neverReturns = answer;
                    exact = isExact || answer;
                    return true;
                }
            }

            neverReturns = false;
            exact = false;
            return false;
        }
    }
}
