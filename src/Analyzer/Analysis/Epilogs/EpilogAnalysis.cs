using Iced.Intel;
using Pelint.Analysis.Functions;
using Pelint.Pe;
using Pelint.Pe.Code;
using Pelint.Pe.Exceptions;
using Pelint.Pe.IO;

namespace Pelint.Analysis.Epilogs;

/// <summary>
/// One epilog of a function: where it starts and exits, its bytes, the forward-scan verdict and,
/// when it does not undo the frame the unwind codes describe, what it gets wrong.
/// </summary>
public sealed record EpilogSite(
    RuntimeFunction Fragment,
    RuntimeFunction Primary,
    string FunctionName,
    string FunctionKey,
    int Ordinal,
    uint StartRva,
    uint ExitRva,
    uint EndRva,
    string Bytes,
    EpilogVerdict Verdict,
    string? Deviation,
    string? Scheduled,
    uint? ScheduledRva,
    string? Mismatch);

/// <summary>A version 2 UWOP_EPILOG entry with no epilog found at its place.</summary>
public sealed record EpilogWitnessDisagreement(RuntimeFunction Fragment, string FunctionName, string FunctionKey, uint EpilogRva);

/// <summary>
/// Every epilog of every x64 function in .pdata (chained fragments attributed to their primary),
/// computed once per image. Each fragment's bytes are read once: instruction boundaries from the
/// length table, Iced only where the scan needs operands (exits, indexed memory, the walk back
/// from an exit). The directory is cut into fixed chunks of entries that workers take in any order and
/// whose results are joined in directory order, so the outcome never depends on the thread count.
/// Only epilogs a rule reports are kept (see <see cref="Epilogs"/>); the rest are counted.
/// </summary>
public sealed class EpilogAnalysis
{
    /// <summary>Entries per unit of work. Fixed, so chunk boundaries (and results) are the same for any thread count.</summary>
    public const int ChunkEntries = 2048;

    private EpilogAnalysis(IReadOnlyList<EpilogSite> epilogs, int epilogsChecked, IReadOnlyList<EpilogWitnessDisagreement> disagreements, int functions, int fragments, int skipped, int v2Compared)
    {
        Epilogs = epilogs;
        EpilogsChecked = epilogsChecked;
        WitnessDisagreements = disagreements;
        FunctionsChecked = functions;
        FragmentsChecked = fragments;
        FragmentsSkipped = skipped;
        V2EpilogsCompared = v2Compared;
    }

    /// <summary>
    /// The epilogs a rule reports, in directory order: every one that is not in the legal form or
    /// does not undo the prolog's frame. (<see cref="ScanAll"/> keeps the legal ones too.)
    /// </summary>
    public IReadOnlyList<EpilogSite> Epilogs { get; }

    /// <summary>Every epilog found, reported or not.</summary>
    public int EpilogsChecked { get; }

    public IReadOnlyList<EpilogWitnessDisagreement> WitnessDisagreements { get; }

    /// <summary>Primary functions whose fragments were decoded.</summary>
    public int FunctionsChecked { get; }

    /// <summary>.pdata entries decoded (primaries and chained fragments).</summary>
    public int FragmentsChecked { get; }

    /// <summary>Entries left out: broken chains (PE3003/PE3004 report them) or ARM64 code.</summary>
    public int FragmentsSkipped { get; }

    /// <summary>Version 2 UWOP_EPILOG entries compared with the scan.</summary>
    public int V2EpilogsCompared { get; }

    private static readonly AnalysisKey<EpilogAnalysis> Reported = new("epilogs-reported", context => Scan(context, keepLegal: false));

    private static readonly AnalysisKey<EpilogAnalysis> All = new("epilogs-all", context => Scan(context, keepLegal: true));

    /// <summary>The shared analysis of the image, reported epilogs only.</summary>
    public static EpilogAnalysis Of(AnalysisContext context) => context.Get(Reported);

    /// <summary>The analysis that keeps every epilog, legal ones included (tests, investigations).</summary>
    public static EpilogAnalysis ScanAll(AnalysisContext context) => context.Get(All);

    private static EpilogAnalysis Scan(AnalysisContext context, bool keepLegal)
    {
        var image = context.Image;
        var directory = image.ExceptionDirectory;
        var count = directory.Functions.Count;
        var chunks = new FragmentScan.Result[(count + ChunkEntries - 1) / ChunkEntries];
        var primaries = new bool[count];
        var identity = FunctionIdentity.Of(context);
        ChunkedWork.Run(
            context,
            chunks.Length,
            () => new FragmentScan(image, identity, keepLegal, primaries),
            (scan, chunk) => chunks[chunk] = scan.Run(chunk * ChunkEntries, Math.Min(count, (chunk + 1) * ChunkEntries)));

        // Ordinals count a function's epilogs in directory order: offset each chunk's by the
        // epilogs of the same function in the chunks before it.
        var epilogs = new List<EpilogSite>();
        var disagreements = new List<EpilogWitnessDisagreement>();
        var before = new Dictionary<uint, int>();
        int checkedCount = 0, fragments = 0, skipped = 0, v2Compared = 0;
        // Only the functions of kept epilogs need their counts: the others are never renumbered.
        var kept = new HashSet<uint>();
        foreach (var chunk in chunks)
        {
            foreach (var site in chunk.Kept)
            {
                kept.Add(site.Primary.BeginAddress);
            }
        }

        foreach (var chunk in chunks)
        {
            foreach (var site in chunk.Kept)
            {
                epilogs.Add(before.TryGetValue(site.Primary.BeginAddress, out var offset) ? site with { Ordinal = site.Ordinal + offset } : site);
            }

            foreach (var (primary, n) in chunk.EpilogsPerFunction)
            {
                if (kept.Contains(primary))
                {
                    before[primary] = before.GetValueOrDefault(primary) + n;
                }
            }

            disagreements.AddRange(chunk.Disagreements);
            checkedCount += chunk.Epilogs;
            fragments += chunk.Fragments;
            skipped += chunk.Skipped;
            v2Compared += chunk.V2Compared;
        }

        return new EpilogAnalysis(epilogs, checkedCount, disagreements, primaries.Count(p => p), fragments, skipped, v2Compared);
    }
}

/// <summary>
/// One worker's scan of a run of .pdata entries: its decoder and boundary buffers are reused from
/// fragment to fragment, so a scan allocates for what it finds, not for what it reads.
/// </summary>
internal sealed class FragmentScan : IDisposable
{
    /// <summary>Entries before a chunk decoded only for their switch-table references (a table follows the code that indexes it).</summary>
    public const int ReferenceLookBack = 16;

    private readonly PeImage _image;
    private readonly ExceptionDirectory _directory;
    private readonly FunctionIdentity _identity;
    private readonly bool _keepLegal;
    private readonly bool[] _primaries;

    // Epilogs per primary (by entry index) in the current run, and which primaries have any: an
    // array per worker instead of a dictionary that would grow to every function of the run.
    private readonly int[] _epilogCounts;
    private readonly List<int> _counted = [];
    private readonly ImageReader _reader;
    private readonly CodeCursor _cursor;
    private readonly DecodedBlock _block;
    private readonly List<int> _exits = []; // indexes in _block of what may be a ret or jmp: the only places an epilog can end
    private readonly List<(uint Start, int Scale)> _found = []; // table references of the last linear decode
    private uint _sectionStart;
    private uint _sectionEnd;
    private readonly List<(uint Start, uint Exit)> _spans = [];
    private readonly List<UnwindInfo> _infos = [];
    private readonly Dictionary<uint, FrameModel> _chainedModels = [];

    // A frame model per unwind record (most entries have a record of their own), shared by
    // records of the same shape: the record's slot is an array read, the shape a lookup once.
    private readonly FrameModel?[] _modelByRecord;
    private readonly Dictionary<UnwindInfo, FrameModel> _models = new(FrameShape.Comparer);
    private readonly Func<ulong, bool> _inside;
    private readonly CodeBytes _bytes;

    // Switch-table references seen so far in this run, sorted by table RVA. Entries are in
    // address order and a table follows the code that indexes it, often in a later fragment.
    private readonly List<(uint Start, int Scale)> _references = [];
    private RuntimeFunction _entry;
    private uint _primaryBegin;

    public FragmentScan(PeImage image, FunctionIdentity identity, bool keepLegal, bool[] primaries)
    {
        _image = image;
        _directory = image.ExceptionDirectory;
        _identity = identity;
        _keepLegal = keepLegal;
        _primaries = primaries;
        _epilogCounts = new int[_directory.Functions.Count];
        _reader = image.OpenReader();
        _cursor = image.Code.OpenCursor();
        _block = new DecodedBlock(_cursor, _reader);
        _bytes = new CodeBytes(_reader);
        _modelByRecord = new FrameModel?[_directory.UnwindTable.Count];
        _inside = Inside;
    }

    /// <summary>What a run of entries yields; ordinals count from the run's start.</summary>
    public sealed record Result(
        List<EpilogSite> Kept,
        List<(uint Primary, int Count)> EpilogsPerFunction,
        List<EpilogWitnessDisagreement> Disagreements,
        int Epilogs,
        int Fragments,
        int Skipped,
        int V2Compared);

    public void Dispose()
    {
        _reader.Dispose();
        _cursor.Dispose();
    }

    public Result Run(int from, int to)
    {
        _references.Clear();
        for (var k = Math.Max(0, from - ReferenceLookBack); k < from; k++)
        {
            CollectReferences(_directory.FunctionSpan[k]);
        }

        var result = new Result([], [], [], 0, 0, 0, 0);
        int epilogs = 0, fragments = 0, skipped = 0, v2Compared = 0;
        for (var k = from; k < to; k++)
        {
            if (ScanEntry(_directory.FunctionSpan[k], result, ref epilogs, ref v2Compared))
            {
                fragments++;
            }
            else
            {
                skipped++;
            }
        }

        foreach (var index in _counted)
        {
            result.EpilogsPerFunction.Add((_directory.Functions[index].BeginAddress, _epilogCounts[index]));
            _epilogCounts[index] = 0;
        }

        _counted.Clear();
        return result with { Epilogs = epilogs, Fragments = fragments, Skipped = skipped, V2Compared = v2Compared };
    }

    // False when the entry is skipped: not x64, empty, or without a sound frame to compare with.
    private bool ScanEntry(RuntimeFunction entry, Result result, ref int epilogCount, ref int v2Compared)
    {
        if (!_directory.IsX64(entry) || entry.Length == 0 || Frame(entry) is not var (primary, own, primaryInfo, chainLength, frameRegister))
        {
            return false;
        }

        _primaries[primary.Index] = true; // a benign race: every writer stores true
        var model = Model(entry, chainLength);

        _entry = entry;
        _primaryBegin = primary.BeginAddress;

        // MSVC shrink-wrapping can put an epilog's last instruction (the ret) in a chained
        // fragment of its own, right after the fragment holding the release and the pops:
        // decode that adjacent fragment of the same function too, so the walk back sees them.
        var decodeFrom = entry.BeginAddress;
        if (chainLength > 1 && entry.Index > 0 && _directory.FunctionSpan[entry.Index - 1] is var before
            && before.EndAddress == entry.BeginAddress && before.Length > 0 && _directory.PrimaryOf(before)?.BeginAddress == primary.BeginAddress)
        {
            decodeFrom = before.BeginAddress;
        }

        var length = (int)Math.Min(entry.EndAddress - decodeFrom, ImageCode.MaxDecodeBytes);
        SetSection(entry.BeginAddress);
        if (!Decode(decodeFrom, length))
        {
            return true; // checked: no byte of it is in the file
        }

        // MSVC places switch tables in .text after the code; decoding them as instructions
        // yields phantom rets. Decode around them instead.
        AddReferences();
        if (HasReferences(decodeFrom, entry.EndAddress))
        {
            var tables = JumpTables.Ranges(_reader, InRange(decodeFrom, entry.EndAddress), decodeFrom, entry.EndAddress);
            if (tables.Count > 0 && !DecodeAround(decodeFrom, (uint)length, tables))
            {
                return true; // nothing but table data
            }
        }

        var bytes = _bytes.Reset(decodeFrom, (int)Math.Min(_block.End - decodeFrom, ImageCode.MaxDecodeBytes));
        _spans.Clear();
        string? name = null, key = null;
        foreach (var i in _exits)
        {
            var instruction = _block[i];
            if (instruction.IP < entry.BeginAddress || !EpilogMatcher.IsExit(instruction, bytes, _inside))
            {
                continue;
            }

            // An exit inside the primary's prolog is not reachable as an epilog.
            if (entry.BeginAddress == primary.BeginAddress && instruction.IP < entry.BeginAddress + (ulong)primaryInfo.SizeOfProlog)
            {
                continue;
            }

            var shape = EpilogMatcher.Classify(_block, i, frameRegister);
            if (instruction.Mnemonic == Mnemonic.Jmp && shape.StartIndex == i && shape.Verdict != EpilogVerdict.Broken && model.Depth > 0)
            {
                // A jump out of a function that still holds its frame is a branch to shared
                // or cold code, not a tail call.
                continue;
            }

            var start = (uint)_block[shape.StartIndex].IP;
            var exitEnd = (uint)instruction.NextIP;
            _spans.Add((start, (uint)instruction.IP));
            string? mismatch = null;
            if (shape.Verdict != EpilogVerdict.Broken && model.NotModelled is null)
            {
                mismatch = model.Replay(_block, shape.StartIndex, i, frameRegister);
            }

            epilogCount++;
            var ordinal = ++_epilogCounts[primary.Index];
            if (ordinal == 1)
            {
                _counted.Add(primary.Index);
            }

            if (!_keepLegal && shape.Verdict == EpilogVerdict.Legal && mismatch is null)
            {
                continue;
            }

            name ??= NameOf(primary);
            key ??= _identity.KeyOf(primary); // export name, else section#ordinal: stable across rebuilds
            string? scheduled = shape.ScheduledIndex is { } s ? _block[s].ToString() : null;
            uint? scheduledRva = shape.ScheduledIndex is { } t ? (uint)_block[t].IP : null;
            result.Kept.Add(new EpilogSite(entry, primary, name, key, ordinal, start, (uint)instruction.IP, exitEnd,
                bytes.Hex(start, exitEnd), shape.Verdict, shape.Deviation, scheduled, scheduledRva, mismatch));
        }

        if (own.Epilogs is { } v2)
        {
            foreach (var v2Start in v2.StartsFor(entry))
            {
                if (!entry.Contains(v2Start))
                {
                    continue; // PE3008 reports epilog codes outside the function.
                }

                v2Compared++;
                // A v2 epilog may be described from its pops on (after the frame release), so it
                // agrees when it starts anywhere in an epilog the scan found.
                if (!FoundAt(v2Start))
                {
                    result.Disagreements.Add(new EpilogWitnessDisagreement(entry, name ??= NameOf(primary), key ??= _identity.KeyOf(primary), v2Start));
                }
            }
        }

        return true;
    }

    /// <summary>
    /// The entry's frame: its primary, its own and its primary's unwind info, the chain's length
    /// and frame register; <see cref="_infos"/> holds the chain primary first. Null when the chain
    /// is broken or an info in it is malformed (PE3002-PE3004 report those; no frame to compare with).
    /// </summary>
    private (RuntimeFunction Primary, UnwindInfo Own, UnwindInfo PrimaryInfo, int ChainLength, int FrameRegister)? Frame(RuntimeFunction entry)
    {
        _infos.Clear();
        if (!entry.IsIndirect && _directory.UnwindInfoOf(entry) is { IsChained: false } single)
        {
            // Nearly every entry: no chain to walk.
            _infos.Add(single);
            return single.Problems.Length > 0 ? null : (entry, single, single, 1, single.FrameRegister);
        }

        var walk = _directory.WalkChain(entry);
        if (walk.End is not { } primary)
        {
            return null;
        }

        for (var k = walk.Path.Count - 1; k >= 0; k--)
        {
            if (_directory.UnwindInfoOf(walk.Path[k]) is { } info)
            {
                _infos.Add(info);
            }
        }

        if (_infos.Count != walk.Path.Count || _infos.Exists(i => i.Problems.Length > 0))
        {
            return null;
        }

        var frameRegister = 0;
        foreach (var info in _infos)
        {
            frameRegister = info.FrameRegister != 0 ? info.FrameRegister : frameRegister;
        }

        return (primary, _infos[^1], _infos[0], walk.Path.Count, frameRegister);
    }

    // Most functions share a prolog shape with many others: one model per shape, not per function.
    private FrameModel Model(RuntimeFunction entry, int chainLength)
    {
        if (chainLength == 1)
        {
            var info = _infos[0];
            var own = info.Table == _directory.UnwindTable;
            if (own && _modelByRecord[info.Index] is { } known)
            {
                return known;
            }

            if (!_models.TryGetValue(info, out var model))
            {
                _models[info] = model = FrameModel.FromChain(_infos);
            }

            if (own)
            {
                _modelByRecord[info.Index] = model;
            }

            return model;
        }

        if (!_chainedModels.TryGetValue(entry.TargetRva, out var chained))
        {
            _chainedModels[entry.TargetRva] = chained = FrameModel.FromChain(_infos);
        }

        return chained;
    }

    private string NameOf(RuntimeFunction primary) => _identity.DisplayName(primary.BeginAddress);

    // As the unwinder's SameFunction: a jump into another fragment of the same function stays
    // inside; a jump to the primary's own start is a recursive tail call, an exit.
    private bool Inside(ulong target) =>
        target != _primaryBegin
        && _entry.Contains((uint)Math.Min(target, uint.MaxValue))
        || (target <= uint.MaxValue && _directory.FindContaining((uint)target) is { } other && _directory.PrimaryOf(other)?.BeginAddress == _primaryBegin);

    private void SetSection(uint rva) =>
        (_sectionStart, _sectionEnd) = _image.Map.FindSection(rva) is { } section ? (section.VirtualAddress, section.VirtualAddress + section.MappedSize) : (0u, 0u);

    // The linear decode of a fragment: also notes its exits and the switch tables it indexes.
    private bool Decode(uint rva, int length)
    {
        _block.Clear();
        _exits.Clear();
        _found.Clear();
        Append(rva, length, collectReferences: true);
        return _block.Count > 0;
    }

    // One pass over the bytes: each instruction measured by the length table (or, where it does not
    // answer, decoded by Iced), exits and table references noted; Iced decodes the rest on demand.
    private void Append(uint rva, int length, bool collectReferences)
    {
        length = Math.Clamp(length, 0, ImageCode.MaxDecodeBytes);
        if (length == 0 || !_image.Map.TryGetFileOffset(rva, out var offset, out var available))
        {
            return;
        }

        // The fragment's bytes stay valid through the loop: nothing in it reads through _reader.
        var bytes = _reader.ReadAt(offset, (int)Math.Min(available, length));
        var count = bytes.Length;
        var position = 0;
        _block.BeginSegment(rva, offset);
        while (position < count)
        {
            var measured = InstructionLength.Of(bytes[position..], out var hints);
            if (measured > 0)
            {
                int index;
                // Only a disp32 form can reach a table at an RVA past 127 (nearly every section).
                if (collectReferences && (hints & LengthHints.IndexedMemory) != 0 && ((hints & LengthHints.IndexedDisplacement32) != 0 || _sectionStart < 128))
                {
                    // Decoded here, from the bytes in hand, to see the table it may index.
                    _cursor.Decode(bytes.Slice(position, measured), rva + (uint)position, out var indexed);
                    index = _block.Add(rva + (uint)position, measured, indexed);
                    if (JumpTables.Reference(indexed, _sectionStart, _sectionEnd) is { } reference)
                    {
                        _found.Add(reference);
                    }
                }
                else
                {
                    index = _block.Add(rva + (uint)position, measured);
                }

                if ((hints & LengthHints.ExitCandidate) != 0)
                {
                    _exits.Add(index);
                }

                position += measured;
                continue;
            }

            // Decoded as the linear decode of this range would: never past its end.
            _cursor.Decode(bytes[position..], rva + (uint)position, out var instruction);
            var at = _block.Add(rva + (uint)position, instruction.Length, instruction);
            if (instruction.Code is Code.Retnq or Code.Retnq_imm16 or Code.Jmp_rel8_64 or Code.Jmp_rel32_64 or Code.Jmp_rm64)
            {
                _exits.Add(at);
            }

            if (collectReferences && instruction.MemoryIndex != Register.None && JumpTables.Reference(instruction, _sectionStart, _sectionEnd) is { } found)
            {
                _found.Add(found);
            }

            position += instruction.Length;
        }
    }

    private bool DecodeAround(uint begin, uint length, IReadOnlyList<(uint Start, uint End)> data)
    {
        _block.Clear();
        _exits.Clear();
        var cursor = begin;
        var end = begin + length;
        foreach (var (start, stop) in data)
        {
            if (start > cursor)
            {
                Append(cursor, (int)(start - cursor), collectReferences: false);
            }

            cursor = Math.Max(cursor, stop);
        }

        if (cursor < end)
        {
            Append(cursor, (int)(end - cursor), collectReferences: false);
        }

        return _block.Count > 0;
    }

    // Decodes an entry before the chunk only to learn which tables its code indexes.
    private void CollectReferences(RuntimeFunction entry)
    {
        if (entry.Length > 0 && _directory.IsX64(entry) && Frame(entry) is not null)
        {
            SetSection(entry.BeginAddress);
            if (Decode(entry.BeginAddress, (int)Math.Min(entry.Length, ImageCode.MaxDecodeBytes)))
            {
                AddReferences();
            }
        }
    }

    private void AddReferences()
    {
        foreach (var reference in _found)
        {
            var at = _references.BinarySearch(reference, ReferenceOrder);
            _references.Insert(at < 0 ? ~at : at, reference);
        }
    }

    private static readonly Comparer<(uint Start, int Scale)> ReferenceOrder = Comparer<(uint Start, int Scale)>.Create((a, b) => a.Start.CompareTo(b.Start));

    private int LowerBound(uint begin)
    {
        int lo = 0, hi = _references.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_references[mid].Start < begin)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private bool HasReferences(uint begin, uint end) => LowerBound(begin) is var k && k < _references.Count && _references[k].Start < end;

    private IEnumerable<(uint Start, int Scale)> InRange(uint begin, uint end)
    {
        for (var k = LowerBound(begin); k < _references.Count && _references[k].Start < end; k++)
        {
            yield return _references[k];
        }
    }

    // Whether a v2 epilog start lies in an epilog the scan found (from its start to its exit).
    private bool FoundAt(uint rva)
    {
        foreach (var (start, exit) in _spans)
        {
            if (rva >= start && rva <= exit)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// Unwind infos that build the same frame: the same frame offset and the same codes apart from
/// their prolog offsets, which <see cref="FrameModel"/> does not use.
/// </summary>
internal sealed class FrameShape : IEqualityComparer<UnwindInfo>
{
    public static readonly FrameShape Comparer = new();

    public bool Equals(UnwindInfo x, UnwindInfo y)
    {
        if (x == y)
        {
            return true;
        }

        var left = x.Codes;
        var right = y.Codes;
        if (x.FrameOffset != y.FrameOffset || left.Length != right.Length)
        {
            return false;
        }

        for (var k = 0; k < left.Length; k++)
        {
            if (left[k].Op != right[k].Op || left[k].OpInfo != right[k].OpInfo || left[k].Value != right[k].Value)
            {
                return false;
            }
        }

        return true;
    }

    public int GetHashCode(UnwindInfo info)
    {
        var hash = new HashCode();
        hash.Add(info.FrameOffset);
        foreach (var code in info.Codes)
        {
            hash.Add((int)code.Op | (code.OpInfo << 8));
            hash.Add(code.Value);
        }

        return hash.ToHashCode();
    }
}

/// <summary>
/// The instructions of a fragment as boundaries (start, length) in reusable arrays, in segments
/// of contiguous file bytes; an instruction itself is decoded by Iced only when asked for, and
/// the few around an exit are kept in a small cache, so the matcher reads them as a list without
/// the block ever being decoded whole.
/// </summary>
internal sealed class DecodedBlock(CodeCursor cursor, ImageReader reader) : IReadOnlyList<Instruction>
{
    private const int CacheSize = 64; // > the longest walk back from an exit (pops, release, look-back)

    private readonly Instruction[] _cache = new Instruction[CacheSize];
    private readonly int[] _cached = Enumerable.Repeat(-1, CacheSize).ToArray();
    private readonly List<(int First, uint Rva, long Offset)> _segments = [];
    private uint[] _starts = new uint[1024];
    private byte[] _lengths = new byte[1024];

    public int Count { get; private set; }

    /// <summary>The RVA just past the last instruction.</summary>
    public uint End => Count == 0 ? 0 : _starts[Count - 1] + _lengths[Count - 1];

    public Instruction this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            var slot = index & (CacheSize - 1);
            if (_cached[slot] != index)
            {
                // Exactly the bytes the linear decode gave it, so a truncated one decodes the same.
                cursor.Decode(reader.ReadAt(OffsetOf(index), _lengths[index]), _starts[index], out _cache[slot]);
                _cached[slot] = index;
            }

            return _cache[slot];
        }
    }

    public void Clear()
    {
        Count = 0;
        _segments.Clear();
        Array.Fill(_cached, -1);
    }

    /// <summary>The next instructions are read from the file at <paramref name="offset"/> on, for RVA <paramref name="rva"/> on.</summary>
    public void BeginSegment(uint rva, long offset) => _segments.Add((Count, rva, offset));

    /// <summary>An instruction only measured; returns its index.</summary>
    public int Add(uint start, int length)
    {
        if (Count == _starts.Length)
        {
            Array.Resize(ref _starts, Count * 2);
            Array.Resize(ref _lengths, Count * 2);
        }

        _starts[Count] = start;
        _lengths[Count] = (byte)length;
        return Count++;
    }

    /// <summary>An instruction Iced already decoded from its <paramref name="length"/> bytes (kept in the cache); returns its index.</summary>
    public int Add(uint start, int length, in Instruction instruction)
    {
        var index = Add(start, length);
        _cache[index & (CacheSize - 1)] = instruction;
        _cached[index & (CacheSize - 1)] = index;
        return index;
    }

    public IEnumerator<Instruction> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    // Segments are in order of their first instruction: the last one that starts at or before it.
    private long OffsetOf(int index)
    {
        for (var k = _segments.Count - 1; k >= 0; k--)
        {
            var (first, rva, offset) = _segments[k];
            if (first <= index)
            {
                return offset + (_starts[index] - rva);
            }
        }

        throw new InvalidOperationException("an instruction outside every segment");
    }
}
