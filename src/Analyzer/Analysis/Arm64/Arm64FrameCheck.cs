using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Pelint.Pe;
using Pelint.Pe.Chpe;
using Pelint.Pe.Code.Arm64;
using Pelint.Pe.Exceptions.Arm64;

namespace Pelint.Analysis.Arm64;

/// <summary>A prolog or epilog instruction that does not do what its unwind code says.</summary>
/// <param name="Entry">The .pdata entry.</param>
/// <param name="Epilog">False for the prolog.</param>
/// <param name="Rva">RVA of the instruction.</param>
/// <param name="Instruction">The instruction as decoded.</param>
/// <param name="Expected">The unwind code's instruction (llvm-readobj notation), or what the epilog must end with.</param>
/// <param name="CodeName">The unwind code's name ("end" for the return).</param>
/// <param name="WholeQRegisters">
/// ARM64EC code only: every instruction moves sp as its code says, and the only difference is that
/// some store or load whole q registers where their save_freg* code describes d registers (MSVC's
/// entry thunks: <c>stp q8, q9, [sp, #32]</c> under <c>save_fregp d8, d9, 32</c>). The unwinder reads
/// those codes as 8-byte d slots in ARM64EC code too, so a walk finds the caller, fp, lr and x19-x28
/// but restores the second register of a pair from the upper half of the first one's slot and no
/// upper half. <see cref="Rva"/> is the first such instruction.
/// </param>
public sealed record Arm64FrameMismatch(Arm64RuntimeFunction Entry, bool Epilog, uint Rva, string Instruction, string Expected, string CodeName, bool WholeQRegisters = false);

/// <summary>An epilog cut by its fragment's end: <paramref name="Boundary"/> is where the next fragment begins, with <paramref name="Remaining"/> restoring instructions and the return.</summary>
public sealed record Arm64SplitEpilog(Arm64RuntimeFunction Entry, uint Boundary, int Remaining);

/// <summary>
/// ARM64 prologs and epilogs checked against their unwind codes. ARM64 unwind codes map 1:1 to
/// prolog and epilog instructions (Microsoft's "ARM64 exception handling"): the prolog's codes in
/// reverse order from the function's first instruction, each epilog's from its start index in
/// order, then the return (or tail branch) for <c>end</c>. The unwinder trusts that mapping
/// when it unwinds from inside a prolog or epilog: it skips one code per instruction already
/// executed. Each instruction is decoded (<see cref="A64Instruction"/>) and compared with the
/// store (prolog) or load (epilog) its code stands for; save_next runs are expanded into the
/// register pairs and 16-byte slots they stand for, as the unwinder accumulates them.
/// </summary>
public sealed class Arm64FrameCheck
{
    private static readonly AnalysisKey<Arm64FrameCheck> Key = new("arm64-frame-check", Build);

    /// <summary>
    /// How many results of each kind are kept (prolog or epilog mismatches, with or without
    /// <see cref="Arm64FrameMismatch.WholeQRegisters"/>; split epilogs), far above any rule's
    /// max-results: past it they are only counted, so entries sharing a record of thousands of
    /// epilog scopes cannot fill memory with results no rule would report.
    /// </summary>
    public const int MaxKept = 10_000;

    // Expanded epilog codes remembered across the entries that share a record (about 2 MB).
    private const int MaxExpanded = 1 << 16;

    private readonly int[] _notKept;

    private Arm64FrameCheck(List<Arm64FrameMismatch> prologs, List<Arm64FrameMismatch> epilogs, List<Arm64SplitEpilog> splits, int prologsChecked, int epilogsChecked, int notChecked, int[] notKept)
    {
        _notKept = notKept;
        SplitEpilogs = splits;
        PrologMismatches = prologs;
        EpilogMismatches = epilogs;
        PrologsChecked = prologsChecked;
        EpilogsChecked = epilogsChecked;
        NotChecked = notChecked;
    }

    /// <summary>The first mismatching instruction of each prolog that has one.</summary>
    public IReadOnlyList<Arm64FrameMismatch> PrologMismatches { get; }

    /// <summary>The first mismatching instruction of each epilog that has one.</summary>
    public IReadOnlyList<Arm64FrameMismatch> EpilogMismatches { get; }

    /// <summary>Epilogs that a fragment boundary cuts, whose rest no epilog scope of the next fragment describes.</summary>
    public IReadOnlyList<Arm64SplitEpilog> SplitEpilogs { get; }

    public int PrologsChecked { get; }

    public int EpilogsChecked { get; }

    /// <summary>Entries left unchecked: unreadable or malformed records (the format rules speak for them), custom-stack and SVE codes.</summary>
    public int NotChecked { get; }

    /// <summary>Split epilogs found past <see cref="MaxKept"/>.</summary>
    public int SplitEpilogsNotKept => _notKept[4];

    /// <summary>Mismatches of one kind found past <see cref="MaxKept"/>.</summary>
    public int MismatchesNotKept(bool epilog, bool wholeQRegisters) => _notKept[Kind(epilog, wholeQRegisters)];

    public static Arm64FrameCheck Of(AnalysisContext context) => context.Get(Key);

    private static int Kind(bool epilog, bool wholeQRegisters) => (epilog ? 2 : 0) + (wholeQRegisters ? 1 : 0);

    private static Arm64FrameCheck Build(AnalysisContext context)
    {
        var image = context.Image;
        var table = image.Arm64Exceptions.Table;
        var codeMap = image.Arm64Exceptions.CodeMap;
        var prologs = new List<Arm64FrameMismatch>();
        var epilogs = new List<Arm64FrameMismatch>();
        var splits = new List<Arm64SplitEpilog>();
        int prologsChecked = 0, epilogsChecked = 0, notChecked = 0;

        // Per unwind record (entries may share one): its distinct epilog scopes whose codes end.
        // Decoding every scope of every entry cost scopes x code bytes per entry: a 167 KB image
        // whose 377 entries share one record of 8,000 scopes over 1,020 unending codes took 58 s.
        var epilogsOf = new Dictionary<uint, List<(uint Start, int Index)>>();

        // Per record and start index, the epilog's expanded codes (null: a code Expand does not
        // model), for the entries that share the record; past MaxExpanded codes in all, expanded
        // each time.
        var expansions = new Dictionary<(uint, int), List<Expected>?>();
        var expanded = 0;
        int[] kept = new int[5], notKept = new int[5];
        void Keep<T>(List<T> list, T item, int kind)
        {
            if (kept[kind] < MaxKept)
            {
                kept[kind]++;
                list.Add(item);
            }
            else
            {
                notKept[kind]++;
            }
        }

        foreach (var entry in table.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            // Malformed records and impossible packed frames are the format rules' (PE4002, PE4004).
            if ((entry.IsPacked && !entry.Packed.DescribesPossibleFrame) || table.RecordOf(entry) is not { Problems.Count: 0, Version: 0 } record || record.FunctionLength == 0)
            {
                notChecked++;
                continue;
            }

            if (Expand(record.DecodeSequence(0, out _, out var truncated), untilEnd: false) is not { } prolog || truncated)
            {
                notChecked++;
                continue;
            }

            var length = record.FunctionLength;
            var arm64ec = codeMap is not null && codeMap.IsArm64EC(entry.BeginAddress);
            if ((ulong)prolog.Count * 4 <= length)
            {
                prologsChecked++;
                if (FirstMismatch(image, entry, entry.BeginAddress, CollectionsMarshal.AsSpan(prolog), epilog: false, arm64ec: arm64ec) is { } m)
                {
                    Keep(prologs, m, Kind(epilog: false, m.WholeQRegisters));
                }
            }

            if (!epilogsOf.TryGetValue(entry.UnwindData, out var checkable))
            {
                checkable = CheckableEpilogs(record);
                epilogsOf.Add(entry.UnwindData, checkable);
            }

            foreach (var (start, index) in checkable)
            {
                if (!expansions.TryGetValue((entry.UnwindData, index), out var epilog))
                {
                    // CheckableEpilogs passes only sequences that reach an end, uncut.
                    epilog = Expand(record.DecodeSequence(index, out _, out _), untilEnd: true);
                    if (expanded < MaxExpanded)
                    {
                        expansions.Add((entry.UnwindData, index), epilog);
                        expanded += 1 + (epilog?.Count ?? 0);
                    }
                }

                if (epilog is null)
                {
                    continue; // codes Expand does not model, or a stray save_next (the format rules report those)
                }

                // Instructions of this epilog inside the function. Past the function's end a PC
                // belongs to no entry and is unwound as a leaf, which is right once every
                // register is restored: so the return (and, in MSVC's epilog fragments, a load of
                // the return value before it) may lie past the end. When the codes go on past the
                // end, only the fragment's own part of the epilog is its business; the rest is the
                // next fragment's or stands for the parent's frame.
                var inside = (int)Math.Min((length - start) / 4, (uint)epilog.Count + 1);
                var withReturn = inside == epilog.Count + 1;
                epilogsChecked++;
                var m = FirstMismatch(image, entry, entry.BeginAddress + start, CollectionsMarshal.AsSpan(epilog)[..Math.Min(inside, epilog.Count)], epilog: true, expectReturn: withReturn, prologRestoresNothing: prolog.Count == 0, arm64ec: arm64ec);
                if (m is not null)
                {
                    Keep(epilogs, m, Kind(epilog: true, m.WholeQRegisters));
                }

                if (m is null or { WholeQRegisters: true } && inside < epilog.Count && SplitEpilog(image, table, entry, start + ((uint)inside * 4), CollectionsMarshal.AsSpan(epilog)[inside..], arm64ec) is { } split)
                {
                    Keep(splits, split, 4);
                }
            }
        }

        return new Arm64FrameCheck(prologs, epilogs, splits, prologsChecked, epilogsChecked, notChecked, notKept);
    }

    /// <summary>
    /// The record's epilogs once each, in the record's order, leaving out those whose codes run
    /// off the array without an end or start at or past the function's end (the format rules
    /// report them; nothing here could check them).
    /// </summary>
    private static List<(uint Start, int Index)> CheckableEpilogs(Arm64UnwindRecord record)
    {
        var ending = record.EndingSequences();
        var seen = new HashSet<(uint, int)>();
        var checkable = new List<(uint Start, int Index)>();
        foreach (var (start, index) in record.Epilogs())
        {
            if (start < record.FunctionLength && (uint)index < (uint)ending.Length && ending[index] && seen.Add((start, index)))
            {
                checkable.Add((start, index));
            }
        }

        return checkable;
    }

    /// <summary>
    /// The instruction-bearing codes of a sequence up to its first end (or end_c, for a prolog),
    /// in stored order, with save_next runs expanded; null when the sequence holds a code this
    /// check does not model (custom stacks, SVE, reserved) or a save_next that follows no pair save.
    /// </summary>
    internal static List<Expected>? Expand(List<Arm64UnwindCode> codes, bool untilEnd)
    {
        var result = new List<Expected>(codes.Count);
        var pendingNext = 0;
        foreach (var code in codes)
        {
            switch (code.Op)
            {
                case Arm64UnwindOp.End:
                    return pendingNext == 0 ? result : null;
                case Arm64UnwindOp.EndC:
                    if (!untilEnd)
                    {
                        return pendingNext == 0 ? result : null;
                    }

                    continue;
                case Arm64UnwindOp.SaveNext:
                    pendingNext++;
                    continue;
                case Arm64UnwindOp.AllocS or Arm64UnwindOp.AllocM or Arm64UnwindOp.AllocL or Arm64UnwindOp.SetFp or Arm64UnwindOp.AddFp
                    or Arm64UnwindOp.Nop or Arm64UnwindOp.PacSignLr:
                    if (pendingNext != 0)
                    {
                        return null;
                    }

                    result.Add(new Expected(code, code.Register, code.Offset, code.PreIndexed));
                    continue;
                case Arm64UnwindOp.SaveR19R20X or Arm64UnwindOp.SaveFpLr or Arm64UnwindOp.SaveFpLrX or Arm64UnwindOp.SaveRegP or Arm64UnwindOp.SaveRegPX
                    or Arm64UnwindOp.SaveReg or Arm64UnwindOp.SaveRegX or Arm64UnwindOp.SaveLrPair or Arm64UnwindOp.SaveFRegP or Arm64UnwindOp.SaveFRegPX
                    or Arm64UnwindOp.SaveFReg or Arm64UnwindOp.SaveFRegX or Arm64UnwindOp.SaveAnyReg:
                    if (code.IsRejected || (pendingNext != 0 && !code.AcceptsSaveNext))
                    {
                        return null;
                    }

                    // k save_nexts before a pair save at slot base: pairs r+2k..r+2 at base+k*stride..base+stride,
                    // then the save itself; a pair of q registers takes 32 bytes, of x or d registers 16.
                    var slotBase = code.PreIndexed ? 0 : code.Offset;
                    var stride = code.RegisterKind == Arm64RegisterKind.Q ? 32 : 16;
                    for (var k = pendingNext; k >= 1; k--)
                    {
                        result.Add(new Expected(code, code.Register + (2 * k), slotBase + (stride * k), false, FromSaveNext: true));
                    }

                    pendingNext = 0;
                    result.Add(new Expected(code, code.Register, code.Offset, code.PreIndexed));
                    continue;
                default:
                    return null;
            }
        }

        return untilEnd || pendingNext != 0 ? null : result;
    }

    // The epilog continues past the fragment's end when the instructions there are its remaining
    // loads and its return. The unwinder knows that part as an epilog only if the entry that
    // starts at the boundary has an epilog scope at +0; otherwise it unwinds it as body code
    // with all of that fragment's codes, restoring what the first part already restored.
    private static Arm64SplitEpilog? SplitEpilog(PeImage image, Arm64FunctionTable table, Arm64RuntimeFunction entry, uint offset, ReadOnlySpan<Expected> rest, bool arm64ec)
    {
        var boundary = entry.BeginAddress + offset;
        if (FirstMismatch(image, entry, boundary, rest, epilog: true, arm64ec: arm64ec) is { WholeQRegisters: false })
        {
            return null; // not the epilog's own instructions: the codes past the end stand for the parent's frame
        }

        if (table.FindContaining(boundary) is { } next && next.BeginAddress == boundary && table.RecordOf(next) is { } nextRecord
            && nextRecord.Epilogs().Any(e => e.StartOffset == 0))
        {
            return null;
        }

        return new Arm64SplitEpilog(entry, boundary, rest.Length);
    }

    // Instructions that may stand between an epilog's last restore and its return, each only
    // setting a volatile register (MSVC loads the return value there: mov w0, #48).
    private const int MaxReturnValueMoves = 4;

    // The first instruction that differs from its code. In ARM64EC code a q-for-d difference
    // (see Arm64FrameMismatch.WholeQRegisters) is only remembered, and reported when nothing
    // else in the sequence differs.
    private static Arm64FrameMismatch? FirstMismatch(PeImage image, Arm64RuntimeFunction entry, uint start, ReadOnlySpan<Expected> codes, bool epilog, bool expectReturn = true,
        bool prologRestoresNothing = false, bool arm64ec = false)
    {
        var count = codes.Length + (epilog && expectReturn ? 1 : 0);
        if (count == 0)
        {
            return null;
        }

        using var reader = image.OpenReader();
        if (!reader.TryGetSpan(start, count * 4, out var bytes))
        {
            return new Arm64FrameMismatch(entry, epilog, start, "(not in the file)", codes.Length > 0 ? codes[0].Text(!epilog) : "ret", codes.Length > 0 ? codes[0].Code.Name : "end");
        }

        Arm64FrameMismatch? wholeQ = null;
        for (var i = 0; i < count; i++)
        {
            var insn = A64Instruction.Decode(BinaryPrimitives.ReadUInt32LittleEndian(bytes[(i * 4)..]));
            var rva = start + (uint)(i * 4);
            if (epilog && i == codes.Length)
            {
                if (insn.Kind is not (A64Kind.Return or A64Kind.Branch or A64Kind.BranchRegister)
                    && !(prologRestoresNothing && ReturnFollowsVolatileMoves(image, rva)))
                {
                    return new Arm64FrameMismatch(entry, true, rva, insn.ToString(), "ret or a tail branch", "end");
                }

                break;
            }

            // A prolog runs its codes backwards: its first instruction is the last code.
            var expected = epilog ? codes[i] : codes[codes.Length - 1 - i];
            var callEffect = insn.Kind == A64Kind.Call ? SpEffectOfCall(image, (uint)(rva + insn.Immediate)) : null;
            if (!expected.Matches(insn, prolog: !epilog, callEffect))
            {
                if (arm64ec && expected.MatchesWithQRegisters(insn, prolog: !epilog))
                {
                    wholeQ ??= new Arm64FrameMismatch(entry, epilog, rva, insn.ToString(), expected.Text(!epilog), expected.Code.Name, WholeQRegisters: true);
                    continue;
                }

                return new Arm64FrameMismatch(entry, epilog, rva, insn.ToString(), expected.Text(!epilog), expected.Code.Name);
            }
        }

        return wholeQ;
    }

    /// <summary>
    /// Whether the instructions from <paramref name="rva"/> set only volatile registers (x0-x17)
    /// to constants, at most <see cref="MaxReturnValueMoves"/> of them, before a return or tail
    /// branch. With every register already restored, a walk stopped at one of them runs the
    /// epilog's <c>end</c> and returns through lr; past the epilog scope (at the return) the
    /// fragment's prolog, when it restores nothing, does the same. So the walk finds the right
    /// caller everywhere, though the <c>end</c> code does not fall on the return.
    /// </summary>
    private static bool ReturnFollowsVolatileMoves(PeImage image, uint rva)
    {
        using var reader = image.OpenReader();
        if (!reader.TryGetSpan(rva, (MaxReturnValueMoves + 1) * 4, out var bytes))
        {
            return false;
        }

        for (var k = 0; k <= MaxReturnValueMoves; k++)
        {
            var insn = A64Instruction.Decode(BinaryPrimitives.ReadUInt32LittleEndian(bytes[(k * 4)..]));
            if (insn.Kind is A64Kind.Return or A64Kind.Branch or A64Kind.BranchRegister)
            {
                return k > 0;
            }

            if (insn.Kind != A64Kind.MoveWide || insn.Rd is > 17 and not 31)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>
    /// What a called helper does to sp before it returns: MSVC's __security_push_cookie
    /// (<c>sub sp, sp, #16</c> ... <c>ret</c>) and __security_pop_cookie (... <c>add sp, sp, #16</c>;
    /// <c>ret</c>) stand in prologs and epilogs for an alloc_s of 16. The helper's straight-line
    /// code up to its first ret, at most 16 instructions, is summed; null when it does not return
    /// within them or moves sp some other way.
    /// </summary>
    internal static long? SpEffectOfCall(PeImage image, uint target)
    {
        const int limit = 16;
        using var reader = image.OpenReader();
        if (!reader.TryGetSpan(target, 4, out _))
        {
            return null;
        }

        long delta = 0;
        for (var i = 0; i < limit; i++)
        {
            if (!reader.TryGetSpan(target + (uint)(i * 4), 4, out var word))
            {
                return null;
            }

            var insn = A64Instruction.Decode(BinaryPrimitives.ReadUInt32LittleEndian(word));
            switch (insn.Kind)
            {
                case A64Kind.Return:
                    return delta;
                case A64Kind.AddImmediate or A64Kind.SubImmediate when insn.Rd == A64Instruction.Sp:
                    if (insn.Rn != A64Instruction.Sp)
                    {
                        return null;
                    }

                    delta += insn.Kind == A64Kind.AddImmediate ? insn.Immediate : -insn.Immediate;
                    break;
                case A64Kind.AddRegister or A64Kind.SubRegister when insn.Rd == A64Instruction.Sp:
                    return null;
                case A64Kind.Store or A64Kind.Load when insn.Rn == A64Instruction.Sp && insn.Addressing is A64Addressing.PreIndex or A64Addressing.PostIndex:
                    delta += insn.Immediate;
                    break;
                case A64Kind.Branch or A64Kind.BranchRegister or A64Kind.Call:
                    return null;
            }
        }

        return null;
    }

    /// <summary>One instruction an unwind code (or a save_next expanded from one) stands for.</summary>
    internal readonly record struct Expected(Arm64UnwindCode Code, int Register, int Offset, bool PreIndexed, bool FromSaveNext = false)
    {
        public string Text(bool prolog) =>
            FromSaveNext ? (Code with { Register = Register, Offset = Offset, PreIndexed = false, Op = OffsetForm(Code.Op) }).Describe(prolog) + " (save_next)" : Code.Describe(prolog);

        private static Arm64UnwindOp OffsetForm(Arm64UnwindOp op) => op switch
        {
            Arm64UnwindOp.SaveR19R20X or Arm64UnwindOp.SaveRegPX => Arm64UnwindOp.SaveRegP,
            Arm64UnwindOp.SaveFRegPX => Arm64UnwindOp.SaveFRegP,
            _ => op,
        };

        /// <param name="insn">The instruction.</param>
        /// <param name="prolog">Prolog (stores) or epilog (loads).</param>
        /// <param name="callEffect">For a bl: what the callee does to sp (<see cref="SpEffectOfCall"/>).</param>
        public bool Matches(A64Instruction insn, bool prolog, long? callEffect)
        {
            const int sp = A64Instruction.Sp, fp = 29;
            switch (Code.Op)
            {
                case Arm64UnwindOp.AllocS or Arm64UnwindOp.AllocM or Arm64UnwindOp.AllocL:
                    if (insn.Kind == A64Kind.Call)
                    {
                        return callEffect == (prolog ? -Code.Size : Code.Size);
                    }

                    // MSVC's variadic prologs allocate with the first home store: stp x2, x3, [sp, #-48]!
                    // (and its ARM64EC entry thunks with stp q6, q7, [sp, #-160]!).
                    if (prolog && insn.Kind == A64Kind.Store && insn.Rn == sp && insn.Addressing == A64Addressing.PreIndex)
                    {
                        return insn.Immediate == -Code.Size;
                    }

                    // The epilog's counterpart releases it with the last load (ldp q6, q7, [sp], #160 in
                    // those thunks): a walk stopped there adds the size to sp as the load does, and
                    // leaves the loaded registers as they are, which only volatile ones may be.
                    if (!prolog && insn.Kind == A64Kind.Load && insn.Rn == sp && insn.Addressing == A64Addressing.PostIndex)
                    {
                        return insn.Immediate == Code.Size && LoadsOnlyVolatileRegisters(insn);
                    }

                    return insn.Rd == sp && insn.Rn == sp
                        && (prolog
                            ? (insn.Kind == A64Kind.SubImmediate && insn.Immediate == Code.Size) || insn.Kind == A64Kind.SubRegister
                            : (insn.Kind == A64Kind.AddImmediate && insn.Immediate == Code.Size) || insn.Kind == A64Kind.AddRegister);
                case Arm64UnwindOp.SetFp when prolog:
                    return insn.Kind == A64Kind.AddImmediate && insn.Immediate == 0 && insn.Rd == fp && insn.Rn == sp;
                case Arm64UnwindOp.SetFp:
                    // The unwinder takes sp from fp here, which is right whenever fp is the frame
                    // pointer; so is an instruction that frees the body's allocation on the way
                    // to it (MSVC: add sp, sp, #n; or a call of __security_pop_cookie).
                    return insn.Kind == A64Kind.AddImmediate && insn.Rd == sp && (insn.Rn == fp ? insn.Immediate == 0 : insn.Rn == sp && insn.Immediate > 0)
                        || (insn.Kind == A64Kind.Call && callEffect > 0);
                case Arm64UnwindOp.AddFp:
                    return prolog
                        ? insn.Kind == A64Kind.AddImmediate && insn.Rd == fp && insn.Rn == sp && insn.Immediate == Code.Offset
                        : insn.Kind == A64Kind.SubImmediate && insn.Rd == sp && insn.Rn == fp && insn.Immediate == Code.Offset;
                case Arm64UnwindOp.Nop:
                    return !WritesSp(insn);
                case Arm64UnwindOp.PacSignLr:
                    return prolog ? insn.Kind is A64Kind.PacIbsp or A64Kind.PacIasp : insn.Kind is A64Kind.AutIbsp or A64Kind.AutIasp;
            }

            // A register save: the registers, the register file, sp as the base and the addressing form.
            if (insn.Kind != (prolog ? A64Kind.Store : A64Kind.Load) || insn.Rn != sp)
            {
                return false;
            }

            var (cls, first, second) = Code.Op switch
            {
                Arm64UnwindOp.SaveFpLr or Arm64UnwindOp.SaveFpLrX => (A64RegisterClass.X, 29, 30),
                Arm64UnwindOp.SaveLrPair => (A64RegisterClass.X, Register, 30),
                Arm64UnwindOp.SaveReg or Arm64UnwindOp.SaveRegX => (A64RegisterClass.X, Register, -1),
                Arm64UnwindOp.SaveFReg or Arm64UnwindOp.SaveFRegX => (A64RegisterClass.D, Register, -1),
                Arm64UnwindOp.SaveFRegP or Arm64UnwindOp.SaveFRegPX => (A64RegisterClass.D, Register, Register + 1),
                Arm64UnwindOp.SaveAnyReg => (Code.RegisterKind switch { Arm64RegisterKind.D => A64RegisterClass.D, Arm64RegisterKind.Q => A64RegisterClass.Q, _ => A64RegisterClass.X },
                    Register, Code.Paired ? Register + 1 : -1),
                _ => (A64RegisterClass.X, Register, Register + 1),
            };
            if (insn.Class != cls || insn.Rt != first || insn.Rt2 != second)
            {
                return false;
            }

            return PreIndexed
                ? insn.Addressing == (prolog ? A64Addressing.PreIndex : A64Addressing.PostIndex) && insn.Immediate == (prolog ? -Offset : Offset)
                : insn.Addressing == A64Addressing.Offset && insn.Immediate == Offset;
        }

        /// <summary>
        /// ARM64EC: whether the instruction is the store (prolog) or load (epilog) a save_freg,
        /// save_freg_x, save_fregp or save_fregp_x code describes, at the same offset and in the
        /// same addressing form, but of the q registers of the same numbers: it moves sp as the
        /// code says, and only the vector registers' restore differs.
        /// </summary>
        public bool MatchesWithQRegisters(A64Instruction insn, bool prolog) =>
            Code.Op is Arm64UnwindOp.SaveFReg or Arm64UnwindOp.SaveFRegX or Arm64UnwindOp.SaveFRegP or Arm64UnwindOp.SaveFRegPX
            && insn.Class == A64RegisterClass.Q
            && Matches(insn with { Class = A64RegisterClass.D }, prolog, callEffect: null);

        // The ARM64 convention's volatile registers: x0-x17, and v0-v7 and v16-v31 whole (v8-v15 keep their low halves).
        private static bool LoadsOnlyVolatileRegisters(A64Instruction insn) => insn.Class switch
        {
            A64RegisterClass.X or A64RegisterClass.W => insn.Rt <= 17 && insn.Rt2 <= 17,
            A64RegisterClass.S or A64RegisterClass.D or A64RegisterClass.Q => IsVolatileVector(insn.Rt) && (insn.Rt2 < 0 || IsVolatileVector(insn.Rt2)),
            _ => false,
        };

        private static bool IsVolatileVector(int v) => v is <= 7 or >= 16;

        private static bool WritesSp(A64Instruction insn) =>
            (insn.Kind is A64Kind.AddImmediate or A64Kind.SubImmediate or A64Kind.AddRegister or A64Kind.SubRegister && insn.Rd == A64Instruction.Sp)
            || (insn.Kind is A64Kind.Store or A64Kind.Load && insn.Rn == A64Instruction.Sp && insn.Addressing is A64Addressing.PreIndex or A64Addressing.PostIndex);
    }
}
