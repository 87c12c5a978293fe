using System.Runtime.CompilerServices;
using Iced.Intel;
using Pelint.Pe;
using Pelint.Pe.Code;
using Pelint.Pe.Exceptions;
using Pelint.Pe.IO;

namespace Pelint.Analysis.StackWalk;

/// <summary>
/// Verifies one function at a time: discovers its code by recursive descent from its entry
/// (through branches inside its ranges and resolved switch tables; never past an exit), computes
/// the true <see cref="StackState"/> before every instruction it reaches (a fixed point over its
/// blocks; paths that meet with different states lose what differs), then asks the
/// <see cref="VirtualUnwinder"/> what a stack walk stopped at each instruction computes and
/// compares it with the truth. Bytes never reached are never judged. One instance per worker.
/// </summary>
public sealed class FunctionVerifier : IDisposable
{
    /// <summary>Instruction visits per function before it is given up as too costly to follow.</summary>
    public const int MaxSteps = 1 << 20;

    // Blocks (with their entry states) kept for the next function.
    private const int KeptBlocks = 2048;

    // Instructions remembered before an indirect jump, to read its switch table: of its own
    // block, and with those of the single path into it (the bounds check may sit a block or two
    // earlier: `cmp ecx,0x100; jae` in one, `cmp ecx,0x187; ja` in the next).
    private const int History = 12;
    private const int PathHistory = 24;

    private readonly ImageReader _reader;
    private readonly ExceptionDirectory _directory;
    private readonly CodeCursor _cursor;
    private readonly VirtualUnwinder _unwinder;
    private readonly JumpTables _tables;
    private readonly SortedList<uint, Block> _blocks = [];

    // The same blocks by start (their indices in _spareBlocks), for the lookup every instruction of a walk makes.
    private readonly RvaIndex _blockAt = new(smallCapacity: 128);
    // Blocks to walk, lowest address first: code mostly flows forward, so a block where paths
    // meet is walked once its predecessors have all arrived, not once per arrival.
    private readonly PriorityQueue<Block, uint> _work = new();
    // Indices in _decoded of the last instructions of the block being walked (a ring).
    private readonly int[] _history = new int[History];
    private readonly Instruction[] _window = new Instruction[PathHistory];
    private readonly List<Instruction> _segment = [];
    private const int MaxSegment = 4096;

    // Switches read with instructions of the path into their block, and the blocks whose single
    // arrival that path relied on (with the start of the block the arrival came from).
    private readonly List<(Block Switch, Block Arrived, uint FromStart)> _pathReads = [];
    private readonly NoReturnFunctions _noReturn;
    private readonly NoReturnFunctions.Probe _probe;
    private readonly StackState _scratch = StackState.AtEntry();

    // Instructions decoded in the current function, in the order first decoded, with their
    // indices by RVA: the fixed point walks blocks more than once and judging walks them again,
    // and each walk mostly asks for the instruction decoded after the last one it had, which is
    // found without a lookup. Arrays up to KeptDecoded are kept for the next function.
    private const int KeptDecoded = 16384;
    private DecodedInstruction[] _decoded = new DecodedInstruction[512];
    private int _decodedCount;
    private uint _highestDecoded;
    private readonly RvaIndex _decodedAt = new(smallCapacity: 512, keptCapacity: 2 * KeptDecoded);

    // Per decoded instruction: whether a block starts there (the walk stops and flows into it).
    private bool[] _startsBlock = new bool[512];

    // Blocks of earlier functions (each with its entry state object), reused.
    private readonly List<Block> _spareBlocks = [];
    private int _blocksInUse;

    // The last entry found for an instruction, reused for the rest of its range when the
    // directory is sorted and disjoint (then every address of the range finds it).
    private readonly bool _rangesDisjoint;
    private RuntimeFunction _containing;
    private RuntimeFunction? _containingSource;
    private bool _hasContaining;

    // Per entry (by begin): where its unwind answer settles (see VirtualUnwinder.TrySettle).
    private readonly Dictionary<ulong, Settle> _settles = [];

    // The last entry's settle point: instructions ask for their entry's one after another.
    private ulong _lastSettleKey;
    private Settle _lastSettle;
    private BodyAnswer _lastBody;
    private readonly List<(Sym Address, Sym Value)> _lastBodyReads = [];
    private readonly List<Hazard> _lastBodyHazards = [];
    private readonly List<Hazard> _found = [];
    private FunctionLayout _function = null!;

    // The block being walked (its End is not known until the walk stops).
    private Block? _walking;
    private FunctionVerdict _verdict = null!;
    private FunctionVerdict? _spareVerdict;
    private int _steps;
    private int _frameRegister;

    /// <summary>A state for the caller to build the next function's entry state in (see <see cref="FrameRecipe.TryEntryState"/>).</summary>
    internal StackState EntryState { get; } = StackState.AtEntry();

    /// <summary>A layout the caller makes each function without fragments in turn (see <see cref="FunctionLayout.ResetToSingle"/>).</summary>
    internal FunctionLayout SingleLayout { get; } = new(default, [default]);

    /// <summary>A list the caller fills with a fragment's chain of unwind infos (reused from function to function).</summary>
    internal List<UnwindInfo> Chain { get; } = [];

    /// <summary>Where discovery found each block, for investigations (tests and tools).</summary>
    internal Action<string>? Trace { get; set; }

    /// <summary>
    /// Called with every instruction judged, the entry the unwinder is given and the true state
    /// (tests compare with a real unwinder). While set, every instruction is unwound from scratch:
    /// no answer is reused and the epilog scan is tried at every instruction.
    /// </summary>
    internal Action<uint, RuntimeFunction, StackState>? Observe { get; set; }

    public FunctionVerifier(PeImage image, NoReturnFunctions noReturn)
    {
        _noReturn = noReturn;
        _probe = new NoReturnFunctions.Probe(image);
        _reader = image.OpenReader();
        _directory = image.ExceptionDirectory;
        _cursor = image.Code.OpenCursor();
        _unwinder = new VirtualUnwinder(image);
        _tables = new JumpTables(image, _reader);
        _rangesDisjoint = _directory.IsSortedAndDisjoint;
    }

    // Asked: computed (a default Settle is none).
    private readonly record struct Settle(bool Known, uint From, int FrameRegister, bool Asked = true);

    // What the unwinder answered in a function's body, and the inputs it read: for a later
    // instruction of the same entry past its prolog, not starting an epilog, with the same RSP,
    // frame register, deepest RSP and the same values in the slots the unwind read (the saved
    // registers, the return address), the answer is the same. Stores to other slots (locals,
    // arguments for a call) do not change it.
    private struct BodyAnswer
    {
        public bool Valid;
        public RuntimeFunction Entry;
        public Sym Rsp;
        public Sym Frame;
        public long Deepest;
        public bool Judged;

        // The slot version of the judging state when its reads were last found alike.
        public int SlotVersion;
    }

    public void Dispose()
    {
        _cursor.Dispose();
        _probe.Dispose();
        _unwinder.Dispose();
        _reader.Dispose();
    }

    private sealed class Block(int id, uint start, StackState entry)
    {
        /// <summary>The block's place in the verifier's list of blocks (kept from function to function), by which _blockAt finds it.</summary>
        public int Id { get; } = id;

        public uint Start { get; private set; } = start;

        /// <summary>The join of the states of every path into the block (owned: copied in, never shared).</summary>
        public StackState Entry { get; } = entry;

        /// <summary>Where the last walk of this block stopped (exclusive); 0 before its first walk.</summary>
        public uint End { get; set; }

        public bool Queued { get; set; }

        /// <summary>Whether a branch (or the function's entry) reaches the block, not only a fall-through after a call.</summary>
        public bool ByBranch { get; set; }

        /// <summary>How the first path into the block arrived, and from where (the branch, or the block's start for a fall-through).</summary>
        public Arrival Arrival { get; set; }

        public uint From { get; set; }

        /// <summary>Distinct arrivals so far (counted up to 2: only "one" matters).</summary>
        public int Arrivals { get; set; }

        /// <summary>A switch ending the block is read from the block's own instructions only: the path into it is not the only one.</summary>
        public bool OwnHistoryOnly { get; set; }

        /// <summary>Makes this a new block at <paramref name="start"/> entered with a copy of <paramref name="state"/>.</summary>
        public void Reset(uint start, StackState state)
        {
            Start = start;
            state.CopyTo(Entry);
            End = 0;
            Queued = false;
            ByBranch = false;
            Arrival = default;
            From = 0;
            Arrivals = 0;
            OwnHistoryOnly = false;
        }
    }

    private enum Arrival : byte
    {
        Entry,
        FallThrough,
        Branch,
        Switch,
    }

    /// <summary>
    /// Verifies <paramref name="function"/> from its primary entry. A fragment no branch reaches
    /// is not judged: MSVC covers switch tables with chained entries of their own, so a fragment
    /// is not known to be code until a branch leads there.
    /// </summary>
    public FunctionVerdict Verify(FunctionLayout function, StackState entry, long frameDepth, int frameRegister, CancellationToken cancellation)
    {
        _function = function;
        _frameRegister = frameRegister;
        _verdict = TakeVerdict(function.Primary);
        _verdict.FrameDepth = frameDepth;
        _blocks.Clear();
        _blockAt.Clear(function.Primary.BeginAddress, function.Primary.EndAddress);
        _work.Clear();
        _pathReads.Clear();
        ReleaseScratch();
        _lastBody.Valid = false;
        _steps = 0;

        Explore(function.Primary.BeginAddress, entry, cancellation);
        while (_steps <= MaxSteps && RereadSwitches())
        {
            Drain(cancellation);
        }

        if (_steps > MaxSteps)
        {
            _verdict.NotAnalyzed = "its code takes too many steps to follow";
            return _verdict;
        }

        var blocks = _blocks.Values;
        for (var k = 0; k < blocks.Count; k++)
        {
            cancellation.ThrowIfCancellationRequested();
            Judge(blocks[k]);
        }

        return _verdict;
    }

    /// <summary>
    /// Gives back a verdict <see cref="Verify"/> returned that the caller does not keep (nothing
    /// to report: most functions), for the next function's verdict.
    /// </summary>
    internal void Recycle(FunctionVerdict verdict) => _spareVerdict = verdict;

    private FunctionVerdict TakeVerdict(RuntimeFunction primary)
    {
        if (_spareVerdict is { } spare)
        {
            _spareVerdict = null;
            spare.Reset(primary);
            return spare;
        }

        return new FunctionVerdict(primary);
    }

    // Forgets the previous function; what a very large one made the buffers grow to is let go.
    private void ReleaseScratch()
    {
        _decodedCount = 0;
        _decodedAt.Clear(_function.Primary.BeginAddress, _function.Primary.EndAddress);
        _highestDecoded = 0;
        if (_decoded.Length > KeptDecoded)
        {
            _decoded = new DecodedInstruction[512];
            _startsBlock = new bool[512];
        }

        _settles.Clear();
        _lastSettle = default;
        if (_spareBlocks.Count > KeptBlocks)
        {
            _spareBlocks.RemoveRange(KeptBlocks, _spareBlocks.Count - KeptBlocks);
        }

        _blocksInUse = 0;
    }

    private void Explore(uint start, StackState state, CancellationToken cancellation)
    {
        Join(start, state, start, Arrival.Entry);
        Drain(cancellation);
    }

    private void Drain(CancellationToken cancellation)
    {
        while (_work.TryDequeue(out var block, out _))
        {
            block.Queued = false;
            if (_steps > MaxSteps)
            {
                return;
            }

            cancellation.ThrowIfCancellationRequested();
            _walking = block;
            Walk(block);
            _walking = null;
        }
    }

    // Merges a state arriving at `target` into the block there (made on first arrival).
    // `afterCall`: the state arrives by falling through a call. A call that never returns
    // (abort, a panic helper) is followed by unrelated code; when that code is also reached by a
    // branch with another stack pointer, the branch is believed and the fall-through dropped.
    private void Join(uint target, StackState state, uint from, Arrival arrival, bool afterCall = false)
    {
        if (_blockAt.TryGetValue(target, out var id))
        {
            var block = _spareBlocks[id];
            if (block.From != from || block.Arrival != arrival)
            {
                block.Arrivals = 2;
            }

            var conflict = block.Entry.StackPointer != state.StackPointer || (_frameRegister != 0 && block.Entry[_frameRegister] != state[_frameRegister]);
            if (conflict && afterCall && block.ByBranch)
            {
                Trace?.Invoke($"join 0x{target:X} from 0x{from:X}: fall-through after a call ignored (rsp {state.StackPointer}, {block.Entry.StackPointer} by a branch)");
                return;
            }

            if (conflict && !afterCall && !block.ByBranch)
            {
                // Until now only reached by falling through calls: start again from the branch's state.
                Trace?.Invoke($"join 0x{target:X} from 0x{from:X}: branch state replaces a fall-through after a call");
                state.CopyTo(block.Entry);
                block.ByBranch = true;
                Enqueue(block);
                return;
            }

            block.ByBranch |= !afterCall;
            var before = block.Entry.StackPointer;
            if (before != state.StackPointer)
            {
                Trace?.Invoke($"join 0x{target:X} from 0x{from:X}: rsp {before} meets {state.StackPointer} (after call {afterCall}, by branch {block.ByBranch})");
            }

            // Paths may meet with different RSPs while a frame register holds the frame (alloca,
            // realignment): the unwinder does not read RSP then. Otherwise the stack is unbalanced.
            var framed = _frameRegister != 0 && block.Entry[_frameRegister].IsStack && block.Entry[_frameRegister] == state[_frameRegister];
            if (block.Entry.JoinWith(state))
            {
                if (before.IsKnown && before != block.Entry.StackPointer && !framed && !_verdict.UnbalancedJoins.Contains(target))
                {
                    _verdict.UnbalancedJoins.Add(target);
                }

                Enqueue(block);
            }

            return;
        }

        var added = Rent(target, state);
        added.ByBranch = !afterCall;
        added.Arrival = arrival;
        added.From = from;
        added.Arrivals = 1;
        _blocks.Add(target, added);
        _blockAt.Add(target, added.Id);
        if (_decodedAt.TryGetValue(target, out var decoded))
        {
            _startsBlock[decoded] = true;
        }

        Trace?.Invoke($"block 0x{target:X} from 0x{from:X} rsp {state.StackPointer}");
        Enqueue(added);

        // A walked block that ran through `target` must stop there now and flow into it; so must
        // the block being walked when its own branch leads back into the part it has run through.
        var index = _blocks.IndexOfKey(target);
        if (index > 0 && _blocks.Values[index - 1] is var previous && (previous.End > target || (previous == _walking && target <= from)))
        {
            Enqueue(previous);
        }
    }

    // A new block at `start` entered with a copy of `state`: one of an earlier function when one is spare.
    private Block Rent(uint start, StackState state)
    {
        if (_blocksInUse < _spareBlocks.Count)
        {
            var spare = _spareBlocks[_blocksInUse++];
            spare.Reset(start, state);
            return spare;
        }

        var block = new Block(_spareBlocks.Count, start, state.Clone());
        _spareBlocks.Add(block);
        _blocksInUse++;
        return block;
    }

    private void Enqueue(Block block)
    {
        if (!block.Queued)
        {
            block.Queued = true;
            _work.Enqueue(block, block.Start);
        }
    }

    // Runs a block from its entry state, propagating to its successors.
    private void Walk(Block block)
    {
        var state = _scratch;
        block.Entry.CopyTo(state);
        var rva = block.Start;
        var run = 0;
        var afterCall = false;
        var at = -1;
        // The function's range the walk is in: most steps stay in it and look nothing up.
        uint rangeBegin = 0, rangeEnd = 0;
        while (true)
        {
            if (++_steps > MaxSteps)
            {
                block.End = rva;
                return;
            }

            at = DecodedAt(rva, at);
            if (rva != block.Start && (at >= 0 ? _startsBlock[at] : _blockAt.ContainsKey(rva)))
            {
                block.End = rva;
                Join(rva, state, rva, Arrival.FallThrough, afterCall);
                return;
            }

            if ((rva - rangeBegin >= rangeEnd - rangeBegin && !_function.TryRangeAt(rva, out rangeBegin, out rangeEnd))
                || (at < 0 && (at = DecodeNew(rva)) < 0))
            {
                block.End = rva;
                return;
            }

            // In place: nothing below decodes before the walk moves on (a switch's reading may, and the walk stops after it).
            ref readonly var instruction = ref _decoded[at].Instruction;
            var facts = _decoded[at].Facts;

            var next = (uint)instruction.NextIP;
            switch (instruction.FlowControl)
            {
                case FlowControl.Next:
                case FlowControl.Call:
                case FlowControl.IndirectCall:
                case FlowControl.Interrupt when !IsTrap(instruction):
                    if ((facts & CallFacts.NeverReturns) != 0)
                    {
                        block.End = next;
                        return;
                    }

                    var rspBefore = state.StackPointer;
                    // Go pads a call that never returns with a nop before the next block.
                    afterCall = instruction.FlowControl is FlowControl.Call or FlowControl.IndirectCall || (afterCall && instruction.Mnemonic == Mnemonic.Nop);
                    InstructionEffects.Apply(instruction, state, (facts & CallFacts.KeepsRax) != 0);
                    if (rspBefore.IsKnown && !state.StackPointer.IsKnown)
                    {
                        Trace?.Invoke($"rsp lost at 0x{rva:X} {instruction}");
                    }

                    _history[run++ % History] = at;
                    rva = next;
                    continue;
                case FlowControl.ConditionalBranch:
                    afterCall = false;
                    if (_function.Contains(instruction.NearBranchTarget))
                    {
                        Join((uint)instruction.NearBranchTarget, state, rva, Arrival.Branch);
                    }

                    _history[run++ % History] = at;
                    rva = next;
                    continue;
                case FlowControl.UnconditionalBranch:
                    block.End = next;
                    if (_function.Contains(instruction.NearBranchTarget) && instruction.NearBranchTarget != _function.Primary.BeginAddress)
                    {
                        Join((uint)instruction.NearBranchTarget, state, rva, Arrival.Branch);
                    }

                    return;
                case FlowControl.IndirectBranch:
                    block.End = next;
                    FollowSwitch(instruction, state, block, run);
                    return;
                default:
                    // ret, int3, ud2, int 29h...: the path ends.
                    block.End = next;
                    return;
            }
        }
    }

    private void FollowSwitch(in Instruction jump, StackState state, Block block, int run)
    {
        var count = Math.Min(run, History);
        var start = PathHistory - count;
        for (var k = 0; k < count; k++)
        {
            _window[start + k] = _decoded[_history[(run - count + k) % History]].Instruction;
        }

        if (run < History && !block.OwnHistoryOnly)
        {
            start = PrependPath(block, start);
        }

        var targets = _tables.Resolve(_window.AsSpan(start), jump, _function);
        if (targets.Count == 0)
        {
            if (!IsExitJump(jump) && _verdict.Unfollowed.Count < 4 && !IsUnfollowed((uint)jump.IP))
            {
                _verdict.Unfollowed.Add(((uint)jump.IP, "an indirect jump whose targets are not known (no switch table recognised; maybe a jump out of the function)"));
            }

            return;
        }

        foreach (var target in targets.ToArray())
        {
            Join(target, state, (uint)jump.IP, Arrival.Switch);
        }
    }

    // Fills _window backwards from `start` with the instructions of the single path into `block`
    // (a taken conditional branch with its condition negated, so that every branch in the window
    // is passed by falling through); returns the new start. Stops at a block reached more than
    // one way, at the entry, after a switch, or when the window is full.
    private int PrependPath(Block block, int start)
    {
        var arrived = block;
        for (var hops = 0; hops < 4 && start > 0 && arrived.Arrivals == 1 && arrived.Arrival is Arrival.Branch or Arrival.FallThrough; hops++)
        {
            if (Containing(ArrivalPoint(arrived)) is not { } previous || !ReadSegment(previous.Start, arrived))
            {
                break;
            }

            var taken = Math.Min(_segment.Count, start);
            for (var k = 0; k < taken; k++)
            {
                _window[start - taken + k] = _segment[_segment.Count - taken + k];
            }

            start -= taken;
            _pathReads.Add((block, arrived, previous.Start));
            if (taken < _segment.Count)
            {
                break;
            }

            arrived = previous;
        }

        return start;
    }

    // The instructions from `start` to where `arrived` was entered from, into _segment; false when
    // the walk does not land there.
    private bool ReadSegment(uint start, Block arrived)
    {
        _segment.Clear();
        var rva = start;
        var at = -1;
        while (_segment.Count < MaxSegment && (at = Decode(rva, at)) >= 0)
        {
            var instruction = _decoded[at].Instruction;
            if (arrived.Arrival == Arrival.Branch && rva == arrived.From)
            {
                if (instruction.FlowControl == FlowControl.ConditionalBranch)
                {
                    instruction.NegateConditionCode();
                }

                _segment.Add(instruction);
                return true;
            }

            _segment.Add(instruction);
            rva = (uint)instruction.NextIP;
            if (arrived.Arrival == Arrival.FallThrough && rva == arrived.Start)
            {
                return true;
            }

            if (rva > arrived.From && rva > arrived.Start)
            {
                return false;
            }
        }

        return false;
    }

    // Where the single path into `block` left the block before it: its branch, or the last byte
    // before a fall-through.
    private static uint ArrivalPoint(Block block) => block.Arrival == Arrival.Branch ? block.From : block.Start - 1;

    // The block whose walked range holds `rva`.
    private Block? Containing(uint rva)
    {
        var keys = _blocks.Keys;
        int low = 0, high = keys.Count - 1, found = -1;
        while (low <= high)
        {
            var mid = (low + high) >>> 1;
            if (keys[mid] <= rva)
            {
                found = mid;
                low = mid + 1;
            }
            else
            {
                high = mid - 1;
            }
        }

        return found >= 0 && _blocks.Values[found] is var block && block.End > rva ? block : null;
    }

    // After discovery: a switch read with a path that is no longer the only way into one of its
    // blocks (a later branch arrived, or split the block it came from) is read again from its own
    // block. Returns whether any was.
    private bool RereadSwitches()
    {
        var again = false;
        foreach (var (@switch, arrived, fromStart) in _pathReads)
        {
            if (!@switch.OwnHistoryOnly && (arrived.Arrivals != 1 || Containing(ArrivalPoint(arrived))?.Start != fromStart))
            {
                Trace?.Invoke($"switch in 0x{@switch.Start:X} read again: the path through 0x{arrived.Start:X} is not the only one");
                @switch.OwnHistoryOnly = true;
                Enqueue(@switch);
                again = true;
            }
        }

        _pathReads.Clear();
        return again;
    }

    private bool IsUnfollowed(uint rva)
    {
        foreach (var (at, _) in _verdict.Unfollowed)
        {
            if (at == rva)
            {
                return true;
            }
        }

        return false;
    }

    // Tail jumps through memory or a REX.W register form: not a switch.
    private static bool IsExitJump(in Instruction jump) =>
        jump.Op0Kind == OpKind.Memory && (jump.IsIPRelativeMemoryOperand || jump.MemoryIndex == Register.None);

    // Judges every instruction of a block from its entry state.
    private void Judge(Block block)
    {
        var state = _scratch;
        block.Entry.CopyTo(state);
        var rva = block.Start;
        (uint Rva, string Form)? release = null;
        var at = -1;
        while (rva < block.End && (at = Decode(rva, at)) >= 0)
        {
            ref readonly var instruction = ref _decoded[at].Instruction;
            var facts = _decoded[at].Facts;
            var path = JudgeAt(rva, state, instruction);
            if (release is { } r && path == UnwindPath.EpilogScan)
            {
                _verdict.UndocumentedForms.Add(r);
            }

            release = null;
            if (instruction.FlowControl is FlowControl.Return || (instruction.FlowControl is FlowControl.UnconditionalBranch or FlowControl.IndirectBranch && path == UnwindPath.EpilogScan))
            {
                _verdict.ExitsReached++;
                if (path == UnwindPath.EpilogScan && EpilogForms.UndocumentedJump(instruction) is { } jump)
                {
                    _verdict.UndocumentedForms.Add((rva, jump));
                }
            }

            if (instruction.FlowControl is FlowControl.Next or FlowControl.Call or FlowControl.IndirectCall or FlowControl.Interrupt)
            {
                release = EpilogForms.UndocumentedRelease(instruction, _frameRegister) is { } form ? (rva, form) : null;
                InstructionEffects.Apply(instruction, state, (facts & CallFacts.KeepsRax) != 0);
            }

            rva = (uint)instruction.NextIP;
        }
    }

    // The unwinder's path at the instruction (for the caller to note epilog forms), after judging it.
    private UnwindPath? JudgeAt(uint rva, StackState state, in Instruction instruction)
    {
        if (EntryAt(rva) is not { } entry)
        {
            _verdict.InstructionsUnjudged++;
            return null;
        }

        // Observed: every instruction unwound from scratch, so nothing below is reused.
        var mayStartEpilog = Observe is not null || MayStartEpilog(instruction, entry);
        var settle = Trace is null && !mayStartEpilog ? SettleOf(entry) : default;
        var reusable = settle.Known && rva >= settle.From;
        var frame = reusable ? state[settle.FrameRegister] : default;
        if (reusable && _lastBody.Valid && _lastBody.Entry == entry && _lastBody.Rsp == state.StackPointer
            && _lastBody.Deepest == state.Deepest && _lastBody.Frame == frame && ReadsAlike(state))
        {
            _lastBody.SlotVersion = state.SlotVersion;
            return Repeat(rva);
        }

        return Unwind(rva, state, entry, mayStartEpilog, reusable, frame);
    }

    // Asks the unwinder at the instruction and judges its answer. Apart from JudgeAt, which
    // answers most instructions from the last answer: this one's large locals (the unwinder's
    // result, hazards) are cleared on every call.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private UnwindPath? Unwind(uint rva, StackState state, RuntimeFunction entry, bool mayStartEpilog, bool reusable, Sym frame)
    {
        Observe?.Invoke(rva, entry, state);
        var outcome = _unwinder.Unwind(entry, rva, state, mayStartEpilog);
        _found.Clear();
        var judged = Compare(rva, state, outcome);
        foreach (var hazard in _found)
        {
            _verdict.Add(hazard);
        }

        if (reusable && outcome.Failure == UnwindFailure.None && outcome.Path == UnwindPath.Codes && outcome.ReadCount >= 0)
        {
            _lastBody = new BodyAnswer
            {
                Valid = true,
                Entry = entry,
                Rsp = state.StackPointer,
                Deepest = state.Deepest,
                Frame = frame,
                Judged = judged,
                SlotVersion = state.SlotVersion,
            };
            _lastBodyReads.Clear();
            for (var k = 0; k < outcome.ReadCount; k++)
            {
                _lastBodyReads.Add(outcome.ReadAt(k));
            }

            _lastBodyHazards.Clear();
            _lastBodyHazards.AddRange(_found);
        }

        return outcome.Failure == UnwindFailure.None ? outcome.Path : null;
    }

    // Whether the slots the last body answer read hold the same values in `state`.
    private bool ReadsAlike(StackState state)
    {
        if (state.SlotVersion == _lastBody.SlotVersion)
        {
            return true;
        }

        foreach (var (address, value) in _lastBodyReads)
        {
            if (state.Read(address) != value)
            {
                return false;
            }
        }

        return true;
    }

    // The last body answer again, at another instruction with the same inputs.
    private UnwindPath Repeat(uint rva)
    {
        if (_lastBody.Judged)
        {
            _verdict.InstructionsChecked++;
        }
        else
        {
            _verdict.InstructionsUnjudged++;
        }

        if (_lastBodyHazards.Count > 0)
        {
            RepeatHazards(rva);
        }

        return UnwindPath.Codes;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RepeatHazards(uint rva)
    {
        foreach (var hazard in _lastBodyHazards)
        {
            _verdict.Add(hazard with { Rva = rva });
        }
    }

    // Compares the unwinder's answer with the truth, collecting hazards in _found; false when the answer cannot be judged.
    private bool Compare(uint rva, StackState state, UnwindResult outcome)
    {
        if (outcome.Failure != UnwindFailure.None || !Definite(outcome.Rsp))
        {
            Trace?.Invoke($"unjudged 0x{rva:X}: {outcome.Failure}, rsp {state.StackPointer}, caller rsp {outcome.Rsp}");
            _verdict.InstructionsUnjudged++;
            return false;
        }

        _verdict.InstructionsChecked++;
        // A tail call that drops stack arguments (V8: the return address copied above them, then
        // add rsp; jmp) returns through the copy: the right caller, with RSP above the arguments
        // the callee pops, as that calling convention expects.
        var rightRsp = outcome.Rsp == Sym.Stack(8) || (outcome.Rip == Sym.ReturnAddress && outcome.Rsp.IsStack && outcome.Rsp.Offset > 8);
        if (!rightRsp || (outcome.Rip.IsKnown && outcome.Rip != Sym.ReturnAddress))
        {
            _found.Add(new Hazard(rva, HazardKind.WrongCaller, outcome.Path, state.StackPointer, outcome.Rsp, outcome.Rsp.Add(-8), outcome.Rip, -1, default, default, state.Deepest));
            return true;
        }

        for (var restored = outcome.RestoredRegisters & NonvolatileRegisters; restored != 0; restored &= restored - 1)
        {
            var r = System.Numerics.BitOperations.TrailingZeroCount(restored);
            outcome.WasRestored(r, out var slot);
            var value = outcome[r];
            if (value.IsKnown && value != Sym.Entry(r))
            {
                _found.Add(new Hazard(rva, HazardKind.WrongRegister, outcome.Path, state.StackPointer, outcome.Rsp, default, default, r, slot, value, state.Deepest));
            }
            else if (value == Sym.Entry(r) && slot.IsStack && state.StackPointer.IsStack && slot.Offset < state.StackPointer.Offset)
            {
                _found.Add(new Hazard(rva, HazardKind.ReleasedSlot, outcome.Path, state.StackPointer, outcome.Rsp, default, default, r, slot, value, state.Deepest));
            }
        }

        return true;
    }

    // The entry RtlLookupFunctionEntry finds for the instruction (an indirect one resolved).
    private RuntimeFunction? EntryAt(uint rva)
    {
        if (!(_hasContaining && _rangesDisjoint && rva >= _containing.BeginAddress && rva < _containing.EndAddress))
        {
            if (_directory.FindContaining(rva) is not { } containing)
            {
                _hasContaining = false;
                return null;
            }

            _containing = containing;
            _containingSource = _directory.UnwindSource(containing);
            _hasContaining = true;
        }

        return _containingSource;
    }

    private Settle SettleOf(RuntimeFunction entry)
    {
        var key = ((ulong)entry.BeginAddress << 32) | entry.UnwindData;
        if (_lastSettle.Asked && key == _lastSettleKey)
        {
            return _lastSettle;
        }

        if (!_settles.TryGetValue(key, out var settle))
        {
            // One frame register at most (0 for none): the answer then reads only it besides RSP and the slots.
            settle = _unwinder.TrySettle(entry, out var from, out var frameRegisters, out var listsEpilogs) && !listsEpilogs && (frameRegisters & (frameRegisters - 1)) == 0
                ? new Settle(true, from, frameRegisters == 0 ? StackState.Rsp : System.Numerics.BitOperations.TrailingZeroCount(frameRegisters))
                : new Settle(false, 0, 0);
            _settles[key] = settle;
        }

        (_lastSettleKey, _lastSettle) = (key, settle);
        return settle;
    }

    // The first instructions of every form the version 1 epilog scan accepts: add or lea to RSP,
    // pop, ret, jmp (any prefix). Not a direct jump to past the start of the entry's own range:
    // the scan reads that as a branch within the function, never as a tail call (a jump within a
    // function is common in its body, where the answer is then reused).
    private static bool MayStartEpilog(in Instruction instruction, RuntimeFunction entry) =>
        instruction.Mnemonic is Mnemonic.Pop or Mnemonic.Ret
        || (instruction.Mnemonic == Mnemonic.Jmp && !(instruction.Code is Code.Jmp_rel8_64 or Code.Jmp_rel32_64
            && instruction.NearBranchTarget > entry.BeginAddress && instruction.NearBranchTarget < entry.EndAddress))
        || (instruction.Mnemonic is Mnemonic.Add or Mnemonic.Lea && instruction.Op0Kind == OpKind.Register && instruction.Op0Register == Register.RSP);

    // Whether a computed caller RSP is known to be right or wrong. A stack address is; so is one
    // made from the caller's own value of the frame register (the frame already torn down, or not
    // yet built). One made from another register's incoming value is not: hand-written
    // trampolines point the frame register at a frame their caller built (libffi), and only the
    // caller knows where that is.
    private bool Definite(Sym callerRsp) =>
        callerRsp.IsStack || (callerRsp.Kind == SymKind.Entry && _frameRegister != 0 && callerRsp.Register == _frameRegister);

    // Windows x64 nonvolatile general registers, a bit each: rbx, rbp, rsi, rdi, r12-r15.
    private const int NonvolatileRegisters = (1 << 3) | (1 << 5) | (1 << 6) | (1 << 7) | (0xF << 12);

    // The index in _decoded of the instruction at `rva`, decoded once per function, or -1 when
    // its bytes do not decode. `after` is the index of the instruction before it on the walk
    // (or -1): the one decoded next after that is most often the one asked for.
    private int Decode(uint rva, int after)
    {
        var at = DecodedAt(rva, after);
        return at >= 0 ? at : DecodeNew(rva);
    }

    // The index of the instruction at `rva` if it was decoded already, or -1.
    private int DecodedAt(uint rva, int after)
    {
        var next = after + 1;
        if ((uint)next < (uint)_decodedCount && (uint)_decoded[next].Instruction.IP == rva)
        {
            return next;
        }

        // Above the highest instruction decoded: not decoded (a first walk mostly runs forward).
        return rva <= _highestDecoded && _decodedAt.TryGetValue(rva, out var at) ? at : -1;
    }

    // Decodes the instruction at `rva` (not decoded yet); a call's facts are worked out with it
    // (each is a pure function of the image, so when they are asked does not matter).
    private int DecodeNew(uint rva)
    {
        if (_cursor.TryDecodeAt(rva, out var instruction) && !instruction.IsInvalid)
        {
            var facts = CallFacts.None;
            if (instruction.FlowControl is FlowControl.Call or FlowControl.IndirectCall)
            {
                facts = (IsNoReturnCall(instruction) ? CallFacts.NeverReturns : CallFacts.None)
                    | (KeepsRax(instruction, (uint)instruction.NextIP) ? CallFacts.KeepsRax : CallFacts.None);
            }

            if (_decodedCount == _decoded.Length)
            {
                Array.Resize(ref _decoded, _decoded.Length * 2);
                Array.Resize(ref _startsBlock, _decoded.Length);
            }

            var at = _decodedCount++;
            _decoded[at] = new DecodedInstruction(instruction, facts);
            _startsBlock[at] = _blockAt.ContainsKey(rva);
            _decodedAt.Add(rva, at);
            _highestDecoded = Math.Max(_highestDecoded, rva);
            return at;
        }

        if (_verdict.Unfollowed.Count < 4)
        {
            _verdict.Unfollowed.Add((rva, "bytes that do not decode as an instruction"));
        }

        return -1;
    }

    private static bool IsTrap(in Instruction instruction) =>
        instruction.Code is Code.Int3 or Code.Int1 or Code.Ud2 or Code.Hlt || (instruction.Code == Code.Int_imm8 && instruction.Immediate8 == 0x29);

    // A stack probe (__chkstk and its kin) returns with RAX unchanged, and the prolog subtracts it from RSP next.
    private bool KeepsRax(in Instruction instruction, uint next)
    {
        if (instruction.FlowControl is not (FlowControl.Call or FlowControl.IndirectCall))
        {
            return false;
        }

        // The bytes after the call are nearly always in the run the call was just decoded from.
        if (_cursor.TryPeek(next, 3, out var peeked))
        {
            return SubtractsRax(peeked);
        }

        Span<byte> scratch = stackalloc byte[3];
        return _reader.TryRead(next, 3, scratch, out var read) && SubtractsRax(read);
    }

    // sub rsp, rax (48 2B E0 or 48 29 C4).
    private static bool SubtractsRax(ReadOnlySpan<byte> b) => b[0] == 0x48 && ((b[1] == 0x2B && b[2] == 0xE0) || (b[1] == 0x29 && b[2] == 0xC4));

    private bool IsNoReturnCall(in Instruction call) => _noReturn.NeverReturns(call, _probe);
}
