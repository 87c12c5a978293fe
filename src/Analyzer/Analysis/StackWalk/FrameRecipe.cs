using Pelint.Pe.Exceptions;

namespace Pelint.Analysis.StackWalk;

/// <summary>
/// The frame a chain of unwind infos describes, replayed forward from the function's entry: the
/// state at the first instruction and the frame's depth after the prologs.
/// </summary>
public static class FrameRecipe
{
    /// <summary>
    /// The true state at the function's first instruction. Codes with CodeOffset 0 apply before
    /// any instruction runs, so they describe what the caller left on the stack (coreclr's stubs
    /// are entered with pushes of their own callers); they are part of the entry state.
    /// Null when such a code is one the state cannot hold (a machine frame).
    /// </summary>
    public static StackState? EntryState(UnwindInfo primary)
    {
        var state = StackState.AtEntry();
        for (var k = primary.Codes.Length - 1; k >= 0; k--)
        {
            var code = primary.Codes[k];
            if (code.CodeOffset != 0)
            {
                continue;
            }

            if (!Apply(code, primary, state, saves: null))
            {
                return null;
            }
        }

        return state;
    }

    /// <summary>
    /// Replays <paramref name="primaryFirst"/>'s codes in execution order; null when they use an
    /// op whose effect on the state is not modelled (PUSH_MACHFRAME) or are not decoded.
    /// </summary>
    public static StackState? StateAfter(IReadOnlyList<UnwindInfo> primaryFirst, out long depth)
    {
        var state = StackState.AtEntry();
        depth = 0;
        var saves = new List<(int Register, long Offset, int FrameRegister, int FrameOffset)>();
        foreach (var info in primaryFirst)
        {
            if (info.Version is not (1 or 2))
            {
                return null;
            }

            for (var k = info.Codes.Length - 1; k >= 0; k--)
            {
                var code = info.Codes[k];
                if (!Apply(code, info, state, saves))
                {
                    return null;
                }
            }
        }

        depth = -state.StackPointer.Offset;
        foreach (var (register, offset, frameRegister, frameOffset) in saves)
        {
            // Relative to the frame base: the post-prolog RSP, or the frame register minus its offset.
            var frameBase = frameRegister != 0 && state[frameRegister].IsStack ? state[frameRegister].Add(-frameOffset) : state.StackPointer;
            state.Write(frameBase.Offset + offset, Sym.Entry(register));
        }

        return state;
    }

    /// <summary>
    /// One code's effect, forward: pushes, allocations and the frame register change the state;
    /// register saves are collected in <paramref name="saves"/> (when given) to place once the
    /// frame base is known. False for an op whose effect is not modelled (a machine frame).
    /// </summary>
    private static bool Apply(UnwindCode code, UnwindInfo info, StackState state, List<(int Register, long Offset, int FrameRegister, int FrameOffset)>? saves)
    {
        switch (code.Op)
        {
            case UnwindOp.PushNonvol:
                var rsp = state.StackPointer.Add(-8);
                state.StackPointer = rsp;
                state.Write(rsp.Offset, state[code.Register]);
                return true;
            case UnwindOp.AllocSmall:
            case UnwindOp.AllocLarge:
                state.StackPointer = state.StackPointer.Add(-(long)code.Value);
                return true;
            case UnwindOp.SetFpreg:
                state[info.FrameRegister] = state.StackPointer.Add(info.FrameOffset);
                return true;
            case UnwindOp.SaveNonvol:
            case UnwindOp.SaveNonvolFar:
                saves?.Add((code.Register, code.Value, info.FrameRegister, info.FrameOffset));
                return true;
            case UnwindOp.SaveXmm128:
            case UnwindOp.SaveXmm128Far:
            case UnwindOp.Epilog:
                return true;
            default:
                return false;
        }
    }
}
