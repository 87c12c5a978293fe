using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Reflection.PortableExecutable;
using Pelint.Pe.Chpe;
using Pelint.Pe.Headers;

namespace Pelint.Pe.Exceptions;

/// <summary>
/// The exception directory (data directory 3) as a table of RUNTIME_FUNCTION entries, every
/// direct entry's UNWIND_INFO decoded once into an <see cref="UnwindTable"/> (records shared by
/// entries that share them), and iterative, cycle-safe chain walks. Built once per image
/// (<see cref="PeImage.ExceptionDirectory"/>) and shared, read-only, by every reader of it.
/// </summary>
public sealed class ExceptionDirectory
{
    /// <summary>The SDK's UNWIND_CHAIN_LIMIT.</summary>
    public const int ChainLimit = 32;

    private readonly PeImage _image;
    private readonly RuntimeFunction[] _functions;
    // Unwind infos asked for by RVA that no entry of the directory names (tests, dumps).
    private readonly ConcurrentDictionary<uint, UnwindInfo> _infos = new();

    // Each direct entry's record in _table (-1 for indirect entries): every rule asks for every
    // entry, so this must cost an array read, not a lookup.
    private readonly UnwindTable _table;
    private readonly int[] _entryInfos;

    // Per-entry memo, filled lazily by whichever thread gets there first (the values are
    // immutable and deterministic, so a race only computes one twice).
    private readonly int[] _primaries; // 0 = not yet known, -1 = no primary, else index + 1
    private readonly ChpeCodeMap? _chpe;
    private int _sortedAndDisjoint; // 0 = not yet known, 1 = no, 2 = yes (an int: written whole by any thread)

    private ExceptionDirectory(PeImage image, DataDirectory directory, RuntimeFunction[] functions, IReadOnlyList<PeProblem> problems, ChpeCodeMap? chpe, UnwindTable table, int[] entryInfos)
    {
        _image = image;
        Directory = directory;
        _functions = functions;
        Functions = functions;
        Problems = problems;
        _chpe = chpe;
        _table = table;
        _entryInfos = entryInfos;
        _primaries = new int[functions.Length];
    }

    public DataDirectory Directory { get; }

    /// <summary>Entries in file order (which should be sorted by BeginAddress).</summary>
    public IReadOnlyList<RuntimeFunction> Functions { get; }

    /// <summary><see cref="Functions"/> as a span, for loops over every entry.</summary>
    public ReadOnlySpan<RuntimeFunction> FunctionSpan => _functions;

    public IReadOnlyList<PeProblem> Problems { get; }

    public bool IsPresent => Directory.IsPresent;

    /// <summary>True for an ARM64EC/ARM64X image: its ARM64 entries are in <see cref="PeImage.Arm64Exceptions"/>.</summary>
    public bool HasArm64Code => _chpe is not null;

    /// <summary>
    /// Whether an entry's code is x64 (and so its unwind data is in the x64 format): every entry
    /// of an x64 image; in an ARM64EC or ARM64X image, entries in the code map's x64 ranges.
    /// </summary>
    public bool IsX64(RuntimeFunction function) =>
        _chpe is null ? _image.Machine == Machine.Amd64 : _chpe.IsAmd64(function.BeginAddress);

    /// <summary>The entry whose range contains <paramref name="rva"/> (binary search; entries assumed sorted).</summary>
    public RuntimeFunction? FindContaining(uint rva)
    {
        var functions = _functions;
        int lo = 0, hi = functions.Length - 1;
        while (lo <= hi)
        {
            var mid = lo + ((hi - lo) / 2);
            var f = functions[mid];
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
                return f;
            }
        }

        return null;
    }

    /// <summary>
    /// Whether the entries are sorted by address and no two overlap: then every address of an
    /// entry's range finds that entry, and a caller may reuse one lookup for the whole range.
    /// </summary>
    public bool IsSortedAndDisjoint
    {
        get
        {
            if (_sortedAndDisjoint == 0)
            {
                _sortedAndDisjoint = ComputeSortedAndDisjoint() ? 2 : 1;
            }

            return _sortedAndDisjoint == 2;
        }
    }

    private bool ComputeSortedAndDisjoint()
    {
        for (var i = 1; i < _functions.Length; i++)
        {
            if (_functions[i].BeginAddress < _functions[i - 1].EndAddress || _functions[i - 1].BeginAddress > _functions[i - 1].EndAddress)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The entry that begins exactly at <paramref name="rva"/>, if any.</summary>
    public RuntimeFunction? FindByBegin(uint rva) => FindContaining(rva) is { } f && f.BeginAddress == rva ? f : null;

    /// <summary>The entry stored at an RVA inside the directory (for low-bit pointers), if it is an entry boundary.</summary>
    public RuntimeFunction? EntryAt(uint rva)
    {
        if (rva < Directory.Rva)
        {
            return null;
        }

        var delta = rva - Directory.Rva;
        if (delta % RuntimeFunction.Size != 0 || delta / RuntimeFunction.Size >= (uint)Functions.Count)
        {
            return null;
        }

        return Functions[(int)(delta / RuntimeFunction.Size)];
    }

    /// <summary>The decoded UNWIND_INFO records of the directory's entries.</summary>
    public UnwindTable UnwindTable => _table;

    /// <summary>The UNWIND_INFO at any RVA, decoded on first request and cached (an entry's own is <see cref="UnwindInfoAt"/>).</summary>
    public UnwindInfo GetUnwindInfo(uint rva) =>
        _infos.TryGetValue(rva, out var cached) ? cached : _infos.GetOrAdd(rva, UnwindInfo.Read(_image, rva));

    /// <summary>The UNWIND_INFO at a direct entry's own UnwindData (mapped or not), decoded with the directory.</summary>
    public UnwindInfo UnwindInfoAt(RuntimeFunction direct) => InfoAt(direct);

    private UnwindInfo InfoAt(RuntimeFunction direct) =>
        IsOwnEntry(direct) && _entryInfos[direct.Index] is >= 0 and var record ? _table[record] : GetUnwindInfo(direct.UnwindData);

    // Entries come from this directory, but a caller may build one (tests, chained links).
    private bool IsOwnEntry(RuntimeFunction entry) => (uint)entry.Index < (uint)_functions.Length && _functions[entry.Index] == entry;

    /// <summary>
    /// Follows low-bit indirect entries until one carries a real UNWIND_INFO RVA. Each pointer
    /// must land on an entry boundary inside the directory; cycles and walks longer than
    /// <see cref="ChainLimit"/> stop with a problem.
    /// </summary>
    public ChainWalk ResolveIndirect(RuntimeFunction entry)
    {
        var path = new List<RuntimeFunction> { entry };
        var visited = new HashSet<int> { entry.Index };
        var current = entry;
        while (current.IsIndirect)
        {
            var target = current.TargetRva;
            if (target < Directory.Rva || (ulong)target + RuntimeFunction.Size > (ulong)Directory.Rva + ((ulong)Functions.Count * RuntimeFunction.Size))
            {
                return ChainWalk.Broken(path, ProblemCode.ChainOutsideDirectory, $"its low-bit pointer 0x{current.UnwindData:X} refers to RVA 0x{target:X}, outside the exception directory (0x{Directory.Rva:X}-0x{Directory.Rva + (Functions.Count * RuntimeFunction.Size):X})");
            }

            if (EntryAt(target) is not { } next)
            {
                return ChainWalk.Broken(path, ProblemCode.ChainNotEntryBoundary, $"its low-bit pointer 0x{current.UnwindData:X} refers to RVA 0x{target:X}, {(target - Directory.Rva) % RuntimeFunction.Size} bytes into an entry, not at an entry boundary");
            }

            path.Add(next);
            if (!visited.Add(next.Index))
            {
                return ChainWalk.Broken(path, ProblemCode.ChainCycle, $"its low-bit pointers form a cycle back to entry {next.Index} (begin 0x{next.BeginAddress:X})");
            }

            if (path.Count > ChainLimit + 1)
            {
                return ChainWalk.Broken(path, ProblemCode.ChainTooDeep, $"its low-bit pointers do not reach real unwind data within {ChainLimit} links");
            }

            current = next;
        }

        return new ChainWalk(path, current, null);
    }

    /// <summary>The entry whose UnwindData is a real UNWIND_INFO for <paramref name="entry"/> (itself unless indirect).</summary>
    public RuntimeFunction? UnwindSource(RuntimeFunction entry) => entry.IsIndirect ? ResolveIndirect(entry).End : entry;

    /// <summary>
    /// Whether the entry's unwind info (a low-bit pointer resolved) is not chained: then
    /// <see cref="WalkChain"/> is the entry alone, sound, and a caller that asks this first need
    /// not walk (nor allocate the walk).
    /// </summary>
    public bool IsChainless(RuntimeFunction entry) => UnwindSource(entry) is { } source && !InfoAt(source).IsChained;

    /// <summary>
    /// Follows CHAININFO links from an entry's unwind info to the primary entry (the first whose
    /// info is not chained). Each chained RUNTIME_FUNCTION must exist in the directory with the
    /// same begin, end and unwind data; cycles and chains over <see cref="ChainLimit"/> stop the walk.
    /// </summary>
    public ChainWalk WalkChain(RuntimeFunction entry)
    {
        if (UnwindSource(entry) is not { } source)
        {
            return ChainWalk.Broken([entry], ProblemCode.ChainIndirectUnresolved, "its low-bit pointer does not resolve (see PE3004)");
        }

        var info = InfoAt(source);
        if (!info.IsChained)
        {
            return new ChainWalk([entry], entry, null); // nearly every entry: no chain to follow (see IsChainless)
        }

        var path = new List<RuntimeFunction>(4) { entry };
        // At most ChainLimit + 1 records are visited: a list searched linearly beats a set here.
        var visited = new List<uint>(4) { source.UnwindData };
        var current = entry;
        while (info.IsChained)
        {
            if (info.Chained is not { } link)
            {
                return ChainWalk.Broken(path, ProblemCode.ChainUnreadable, $"the chained entry of UNWIND_INFO 0x{info.Rva:X} cannot be read");
            }

            if (FindByBegin(link.BeginAddress) is not { } parent)
            {
                return ChainWalk.Broken(path, ProblemCode.ChainParentMissing, $"UNWIND_INFO 0x{info.Rva:X} chains to a function at 0x{link.BeginAddress:X}-0x{link.EndAddress:X} that has no entry in the exception directory");
            }

            path.Add(parent);
            if (parent.EndAddress != link.EndAddress || parent.UnwindData != link.UnwindData)
            {
                return ChainWalk.Broken(path, ProblemCode.ChainParentMismatch, $"UNWIND_INFO 0x{info.Rva:X} chains to 0x{link.BeginAddress:X}-0x{link.EndAddress:X} (unwind data 0x{link.UnwindData:X}) but the directory's entry there is 0x{parent.BeginAddress:X}-0x{parent.EndAddress:X} (unwind data 0x{parent.UnwindData:X})");
            }

            if (path.Count > ChainLimit + 1)
            {
                return ChainWalk.Broken(path, ProblemCode.ChainTooDeep, $"the chain does not reach a primary entry within {ChainLimit} links");
            }

            if (UnwindSource(parent) is not { } parentSource)
            {
                return ChainWalk.Broken(path, ProblemCode.ChainIndirectUnresolved, $"the chained entry at 0x{parent.BeginAddress:X} has a low-bit pointer that does not resolve");
            }

            if (visited.Contains(parentSource.UnwindData))
            {
                return ChainWalk.Broken(path, ProblemCode.ChainCycle, $"the chain loops back to UNWIND_INFO 0x{parentSource.UnwindData:X}");
            }

            visited.Add(parentSource.UnwindData);
            current = parent;
            info = InfoAt(parentSource);
        }

        return new ChainWalk(path, current, null);
    }

    /// <summary>The primary function an entry belongs to (itself when its unwind info is not chained).</summary>
    public RuntimeFunction? PrimaryOf(RuntimeFunction entry)
    {
        if (!IsOwnEntry(entry))
        {
            return WalkChain(entry).End;
        }

        if (!entry.IsIndirect && !InfoAt(entry).IsChained)
        {
            return entry; // nearly every entry is its own primary
        }

        var known = Volatile.Read(ref _primaries[entry.Index]);
        if (known == 0)
        {
            known = WalkChain(entry).End is { } end ? end.Index + 1 : -1;
            _primaries[entry.Index] = known;
        }

        return known > 0 ? _functions[known - 1] : null;
    }

    /// <summary>The decoded unwind info of an entry (following a low-bit pointer), or null if it cannot be found.</summary>
    public UnwindInfo? UnwindInfoOf(RuntimeFunction entry)
    {
        if (!entry.IsIndirect && IsOwnEntry(entry))
        {
            // Nearly every call: the entry's own record, whose header was read if it is mapped.
            var own = _table[_entryInfos[entry.Index]];
            return own.HeaderMapped ? own : null;
        }

        return UnwindSource(entry) is { } source && _image.Map.IsMapped(source.UnwindData, UnwindInfo.HeaderSize) ? InfoAt(source) : null;
    }

    internal static ExceptionDirectory Read(PeImage image)
    {
        var dir = image.GetDirectory(DataDirectoryIndex.Exception);
        var problems = new List<PeProblem>();
        var chpe = image.Chpe;
        if (image.Machine == Machine.Arm64 && chpe is not null)
        {
            // ARM64X: the header's directory is the native view's ARM64 table; the x64 entries
            // are the CHPE metadata's extra table.
            var declaredAt = image.FileOffsetOf(chpe.MetadataRva) is { } m ? m + 64 : dir.FileOffset;
            dir = new DataDirectory(DataDirectoryIndex.Exception, chpe.ExtraTableRva, chpe.ExtraTableSize, chpe.ExtraTableSize != 0, declaredAt);
        }
        else if (image.Machine != Machine.Amd64)
        {
            return new ExceptionDirectory(image, dir, [], problems, chpe, new UnwindTable(image.Map), []);
        }

        if (!dir.IsPresent)
        {
            return new ExceptionDirectory(image, dir, [], problems, chpe, new UnwindTable(image.Map), []);
        }

        if (dir.Size % RuntimeFunction.Size != 0)
        {
            problems.Add(new PeProblem(PeStructure.ExceptionDirectory, ProblemCode.ExceptionDirectorySizeNotMultiple,
                $"the exception directory's size {dir.Size} is not a multiple of {RuntimeFunction.Size}", dir.Rva, dir.FileOffset, 8));
        }

        var wanted = (int)Math.Min(dir.Size / RuntimeFunction.Size, int.MaxValue / RuntimeFunction.Size) * RuntimeFunction.Size;
        using var reader = image.OpenReader();
        var span = reader.GetAvailableSpan(dir.Rva, wanted);
        if (span.Length < wanted)
        {
            problems.Add(new PeProblem(PeStructure.ExceptionDirectory, ProblemCode.ExceptionDirectoryTruncated,
                $"the exception directory declares {dir.Size / RuntimeFunction.Size} entries but the file holds {span.Length / RuntimeFunction.Size}", dir.Rva, dir.FileOffset, 8));
        }

        // The array is sized by bytes actually in the file, never by the header's claim.
        var count = span.Length / RuntimeFunction.Size;
        var functions = new RuntimeFunction[count];
        var start = image.FileOffsetOf(dir.Rva) ?? 0;
        for (var i = 0; i < count; i++)
        {
            var e = span.Slice(i * RuntimeFunction.Size, RuntimeFunction.Size);
            functions[i] = new RuntimeFunction(i, BinaryPrimitives.ReadUInt32LittleEndian(e), BinaryPrimitives.ReadUInt32LittleEndian(e[4..]),
                BinaryPrimitives.ReadUInt32LittleEndian(e[8..]), start + (i * RuntimeFunction.Size));
        }

        // Every direct entry's UNWIND_INFO, decoded once here in RVA order (so the reader moves
        // forward through them); entries that name the same record (a linker folds identical
        // ones: a tenth of a large Rust image's) share one decoding.
        var entryInfos = new int[count];
        var byRva = new ulong[count];
        var direct = 0;
        for (var i = 0; i < count; i++)
        {
            entryInfos[i] = -1;
            if (!functions[i].IsIndirect)
            {
                byRva[direct++] = ((ulong)functions[i].UnwindData << 32) | (uint)i;
            }
        }

        var order = byRva.AsSpan(0, direct);
        order.Sort();
        var table = new UnwindTable(image.Map, direct);
        var record = -1;
        for (var k = 0; k < order.Length; k++)
        {
            var rva = (uint)(order[k] >> 32);
            if (k == 0 || rva != (uint)(order[k - 1] >> 32))
            {
                record = table.Decode(reader, rva);
            }

            entryInfos[(int)(uint)order[k]] = record;
        }

        return new ExceptionDirectory(image, dir, functions, problems, chpe, table, entryInfos);
    }
}
