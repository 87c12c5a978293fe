using Pelint.Pe.Exceptions;

namespace Pelint.Analysis.StackWalk;

/// <summary>
/// The frame a chain of unwind infos describes, replayed forward from the function's entry: the
/// state at the first instruction and the frame's depth after the prologs.
/// </summary>
public static class FrameRecipe
{
    /// <summary>
    /// Writes the true state at the function's first instruction into <paramref name="state"/>
    /// (reset first, so a worker reuses one object). Codes with CodeOffset 0 apply before any
    /// instruction runs, so they describe what the caller left on the stack (coreclr's stubs are
    /// entered with pushes of their own callers); they are part of the entry state. False when
    /// such a code is one the state cannot hold (a machine frame).
    /// </summary>
    public static bool TryEntryState(UnwindInfo primary, StackState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        state.ResetToEntry();
        for (var k = primary.Codes.Length - 1; k >= 0; k--)
        {
            var code = primary.Codes[k];
            if (code.CodeOffset != 0)
            {
                continue;
            }

            if (!Apply(code, primary, state))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The depth of the frame <paramref name="primaryFirst"/>'s codes build (bytes between the
    /// return address and RSP after every prolog of the chain): false when they use an op whose
    /// effect is not modelled (a machine frame) or are of another version.
    /// </summary>
    public static bool TryFrameDepth(IReadOnlyList<UnwindInfo> primaryFirst, out long depth)
    {
        ArgumentNullException.ThrowIfNull(primaryFirst);
        depth = 0;
        for (var k = 0; k < primaryFirst.Count; k++)
        {
            var info = primaryFirst[k];
            if (info.Version is not (1 or 2))
            {
                return false;
            }

            foreach (var code in info.Codes)
            {
                switch (code.Op)
                {
                    case UnwindOp.PushNonvol:
                        depth += 8;
                        break;
                    case UnwindOp.AllocSmall:
                    case UnwindOp.AllocLarge:
                        depth += (long)code.Value;
                        break;
                    case UnwindOp.SetFpreg or UnwindOp.SaveNonvol or UnwindOp.SaveNonvolFar or UnwindOp.SaveXmm128 or UnwindOp.SaveXmm128Far or UnwindOp.Epilog:
                        break;
                    default:
                        return false;
                }
            }
        }

        return true;
    }

    /// <summary>
    /// One code's effect, forward: pushes, allocations and the frame register change the state.
    /// False for an op whose effect is not modelled (a machine frame).
    /// </summary>
    private static bool Apply(UnwindCode code, UnwindInfo info, StackState state)
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
            case UnwindOp.SaveXmm128:
            case UnwindOp.SaveXmm128Far:
            case UnwindOp.Epilog:
                return true;
            default:
                return false;
        }
    }
}
