using Iced.Intel;
using Pelint.Pe.Exceptions;

namespace Pelint.Analysis.Epilogs;

/// <summary>
/// The frame a prolog builds, replayed from its unwind codes (chained parents first). Depths are
/// bytes between rsp and the return address: 0 at entry, <see cref="Depth"/> after the prolog.
/// Compared by effect: which stack slot holds which register, and how much must be released.
/// </summary>
public sealed class FrameModel
{
    // A prolog has a handful of codes: small lists searched linearly, allocated on first use
    // (one model is built per distinct prolog of the image, hundreds of thousands in a big one).
    private List<(int Depth, int Register)>? _pushes;
    private List<(int Depth, int Register)>? _saves;
    private List<(int From, int To)>? _allocations;
    private List<int>? _slotBoundaries;

    /// <summary>No real frame is larger; beyond it the codes are not a frame to compare with.</summary>
    private const int MaxFrame = 1 << 30;

    private FrameModel()
    {
    }

    /// <summary>Bytes between the post-prolog rsp and the return address.</summary>
    public int Depth { get; private set; }

    /// <summary>Depth the frame register points at (rsp + FrameOffset when SET_FPREG ran), if any.</summary>
    public int? FramePointerDepth { get; private set; }

    /// <summary>Depth right after the last push: where a frame released by <c>mov rsp, r11</c> lands.</summary>
    public int PushAreaDepth { get; private set; }

    /// <summary>Why the frame cannot be compared (PUSH_MACHFRAME, an unknown op), or null.</summary>
    public string? NotModelled { get; private set; }

    /// <summary>
    /// Builds the model from the unwind infos of a chain, primary first; each info's codes are
    /// listed in descending code offset, so they run in reverse order.
    /// </summary>
    public static FrameModel FromChain(IReadOnlyList<UnwindInfo> primaryFirst)
    {
        var model = new FrameModel();
        foreach (var info in primaryFirst)
        {
            var codes = info.Codes;
            for (var k = codes.Length - 1; k >= 0; k--)
            {
                model.Apply(codes[k], info.FrameOffset);
            }
        }

        return model;
    }

    /// <summary>Builds the model from codes in the order the prolog executes them (for tests).</summary>
    public static FrameModel FromExecutionOrder(IEnumerable<UnwindCode> codes, int frameOffset)
    {
        var model = new FrameModel();
        foreach (var code in codes)
        {
            model.Apply(code, frameOffset);
        }

        return model;
    }

    private void Apply(UnwindCode code, int frameOffset)
    {
        switch (code.Op)
        {
            case UnwindOp.PushNonvol:
                Depth += 8;
                Set(ref _pushes, Depth, code.Register);
                PushAreaDepth = Depth;
                break;
            case UnwindOp.AllocSmall:
            case UnwindOp.AllocLarge:
                // Capped so that hostile ALLOC_LARGE values cannot wrap the depth.
                var size = (int)Math.Min(code.Value, MaxFrame);
                if (Depth > MaxFrame)
                {
                    NotModelled ??= "its unwind codes allocate more than 1 GiB";
                    break;
                }

                (_allocations ??= []).Add((Depth, Depth + size));
                Depth += size;
                if (code.Value == 8)
                {
                    (_slotBoundaries ??= []).Add(Depth); // MSVC's description of a push of a volatile register
                }

                break;
            case UnwindOp.SetFpreg:
                FramePointerDepth = Depth - frameOffset;
                break;
            case UnwindOp.SaveNonvol:
            case UnwindOp.SaveNonvolFar:
                Set(ref _saves, Depth - (int)Math.Min(code.Value, MaxFrame), code.Register);
                break;
            case UnwindOp.SaveXmm128:
            case UnwindOp.SaveXmm128Far:
            case UnwindOp.Epilog:
                break;
            default:
                NotModelled ??= $"its unwind codes use {UnwindCode.OpName(code.Op)}";
                break;
        }
    }

    /// <summary>
    /// Replays an epilog (instructions from its start up to, not including, the exit) against the
    /// frame. Returns what it fails to undo, or null when it restores every register from its
    /// slot and releases exactly the frame.
    /// </summary>
    public string? Replay(IEnumerable<Instruction> epilog, int frameRegister)
    {
        var instructions = epilog as IReadOnlyList<Instruction> ?? [.. epilog];
        return Replay(instructions, 0, instructions.Count, frameRegister);
    }

    /// <summary>As <see cref="Replay(IEnumerable{Instruction}, int)"/>, for the epilog at [<paramref name="from"/>, <paramref name="to"/>) of a block.</summary>
    public string? Replay(IReadOnlyList<Instruction> block, int from, int to, int frameRegister)
    {
        ArgumentNullException.ThrowIfNull(block);
        var depth = Depth;
        var restored = 0;
        int? released = null;
        var afterRelease = depth;
        for (var k = from; k < to; k++)
        {
            var instruction = block[k];
            if (EpilogMatcher.IsPop64(instruction))
            {
                var register = EpilogMatcher.RegisterNumber(instruction.Op0Register);
                if (TryGet(_pushes, depth, out var pushed))
                {
                    if (pushed != register)
                    {
                        return ReleaseProblem(released, afterRelease) ?? $"pops {X64Registers.Name(register)} from the slot where the prolog pushed {X64Registers.Name(pushed)}";
                    }

                    restored++;
                }
                else if (TryGet(_saves, depth, out var saved) && saved == register)
                {
                    // GNU split fragments describe a push as ALLOC 8 plus SAVE_NONVOL at offset 0.
                }
                else if (IsNonvolatile(register) && InAllocation(depth))
                {
                    return ReleaseProblem(released, afterRelease) ?? $"pops nonvolatile {X64Registers.Name(register)} from stack the prolog allocated but did not save it in";
                }
                else if (!InAllocation(depth))
                {
                    return ReleaseProblem(released, afterRelease) ?? (depth <= 0
                        ? $"pops {X64Registers.Name(register)} after the frame the unwind codes describe is fully released (the prolog pushes more than its codes record)"
                        : $"pops {X64Registers.Name(register)} at {depth} bytes below the return address, outside the frame the prolog built");
                }

                depth -= 8;
                continue;
            }

            if (!EpilogMatcher.IsRelease(instruction, frameRegister, out _))
            {
                continue;
            }

            var before = depth;
            switch (instruction.Mnemonic)
            {
                case Mnemonic.Add:
                    depth -= (int)(long)instruction.GetImmediate(1);
                    break;
                case Mnemonic.Sub:
                    depth += (int)(long)instruction.GetImmediate(1);
                    break;
                case Mnemonic.Lea when instruction.MemoryBase == Register.RSP:
                    depth -= (int)(long)instruction.MemoryDisplacement64;
                    break;
                case Mnemonic.Lea when EpilogMatcher.RegisterNumber(instruction.MemoryBase) == frameRegister && frameRegister != 0:
                    if (FramePointerDepth is not { } framePointer)
                    {
                        return "releases the frame through the frame register, but the unwind codes have no SET_FPREG";
                    }

                    depth = framePointer - (int)(long)instruction.MemoryDisplacement64;
                    break;
                case Mnemonic.Mov when EpilogMatcher.RegisterNumber(instruction.Op1Register) == frameRegister && frameRegister != 0 && FramePointerDepth is { } fp:
                    depth = fp;
                    break;
                case Mnemonic.Mov:
                    // mov rsp, r11: r11 was set in the body; the pops that follow are checked against the push area.
                    depth = PushAreaDepth;
                    break;
                default:
                    return null;
            }

            released = before - depth;
            afterRelease = depth;
        }

        if (depth != 0)
        {
            return ReleaseProblem(released, afterRelease) ?? (depth > 0
                ? $"leaves {depth} bytes of the {Depth}-byte frame on the stack at the exit"
                : $"releases {-depth} bytes more than the {Depth}-byte frame the prolog built");
        }

        var pushedCount = _pushes?.Count ?? 0;
        if (restored != pushedCount)
        {
            var missing = _pushes!.Where(p => p.Depth <= Depth).Select(p => X64Registers.Name(p.Register));
            return $"restores {restored} of the {pushedCount} pushed registers ({string.Join(", ", missing)})";
        }

        return null;
    }

    /// <summary>When the frame release did not land on the pushed registers, that is the defect to name.</summary>
    private string? ReleaseProblem(int? released, int depthAfterRelease) =>
        released is { } r && depthAfterRelease != PushAreaDepth && !TryGet(_saves, depthAfterRelease, out _) && _slotBoundaries?.Contains(depthAfterRelease) != true
            ? $"releases {r} bytes of stack, but the unwind codes allocate {Depth - PushAreaDepth} bytes below the pushed registers"
            : null;

    private bool InAllocation(int depth)
    {
        if (_allocations is null)
        {
            return false;
        }

        foreach (var (from, to) in _allocations)
        {
            if (depth > from && depth <= to)
            {
                return true;
            }
        }

        return false;
    }

    // Dictionary semantics over a small list: the last code for a slot wins.
    private static void Set(ref List<(int Depth, int Register)>? slots, int depth, int register)
    {
        slots ??= [];
        for (var k = 0; k < slots.Count; k++)
        {
            if (slots[k].Depth == depth)
            {
                slots[k] = (depth, register);
                return;
            }
        }

        slots.Add((depth, register));
    }

    private static bool TryGet(List<(int Depth, int Register)>? slots, int depth, out int register)
    {
        if (slots is null)
        {
            register = -1;
            return false;
        }

        foreach (var slot in slots)
        {
            if (slot.Depth == depth)
            {
                register = slot.Register;
                return true;
            }
        }

        register = -1;
        return false;
    }

    // Windows x64 ABI nonvolatile registers: rbx, rbp, rdi, rsi, rsp, r12-r15.
    private static bool IsNonvolatile(int register) => register is 3 or 5 or 6 or 7 or >= 12 and <= 15;
}
