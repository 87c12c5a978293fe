using System.Collections.Concurrent;
using System.Reflection.PortableExecutable;
using Pelint.Pe.Headers;
using Pelint.Pe.IO;

namespace Pelint.Pe.Exceptions;

/// <summary>
/// The x64 exception directory (data directory 3): RUNTIME_FUNCTION entries as in the file, their
/// UNWIND_INFOs (decoded on demand, cached), chains and low-bit indirect entries walked
/// iteratively with a visited set and a depth cap. Built once per image through
/// <see cref="PeImage.GetView{T}"/>.
/// </summary>
public sealed class ExceptionDirectory
{
    /// <summary>UNWIND_CHAIN_LIMIT of the Windows SDK: the unwinder gives up after 32 links.</summary>
    public const int ChainLimit = 32;

    private readonly PeImage _image;
    private readonly RuntimeFunction[] _sorted;
    private readonly ConcurrentDictionary<uint, UnwindInfo> _infos = new();
    private readonly Dictionary<uint, int> _byEntryRva;
    private readonly List<(uint Start, uint End)> _x64Ranges;

    private ExceptionDirectory(PeImage image, DataDirectory directory, List<RuntimeFunction> functions, List<PeProblem> problems, List<(uint, uint)>? x64Ranges)
    {
        _image = image;
        Directory = directory;
        Functions = functions;
        Problems = problems;
        _x64Ranges = x64Ranges ?? [];
        IsArm64EC = x64Ranges is not null;
        _sorted = [.. functions.OrderBy(f => f.BeginAddress).ThenBy(f => f.Index)];
        _byEntryRva = new Dictionary<uint, int>(functions.Count);
        foreach (var f in functions)
        {
            _byEntryRva[directory.Rva + ((uint)f.Index * RuntimeFunction.Size)] = f.Index;
        }
    }

    public DataDirectory Directory { get; }

    public bool IsPresent => Directory.IsPresent;

    /// <summary>Entries in file order.</summary>
    public IReadOnlyList<RuntimeFunction> Functions { get; }

    /// <summary>Problems of the directory itself (framing, bounds).</summary>
    public IReadOnlyList<PeProblem> Problems { get; }

    /// <summary>An AMD64-header image with CHPE metadata (ARM64EC/ARM64X): most .pdata is ARM64.</summary>
    public bool IsArm64EC { get; }

    public static ExceptionDirectory Of(PeImage image) => image.GetView(Read);

    /// <summary>RVA of the entry with index <paramref name="index"/>.</summary>
    public uint EntryRva(int index) => Directory.Rva + ((uint)index * RuntimeFunction.Size);

    /// <summary>
    /// False for entries of an ARM64EC/ARM64X image outside its x64 code ranges: their unwind
    /// data is in the ARM64 format, which pelint does not analyze yet.
    /// </summary>
    public bool IsX64(RuntimeFunction entry)
    {
        if (!IsArm64EC)
        {
            return true;
        }

        foreach (var (start, end) in _x64Ranges)
        {
            if (entry.BeginAddress >= start && entry.BeginAddress < end)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The entry whose [Begin, End) contains <paramref name="rva"/> (binary search over entries sorted by begin).</summary>
    public RuntimeFunction? FindContaining(uint rva)
    {
        int lo = 0, hi = _sorted.Length - 1, found = -1;
        while (lo <= hi)
        {
            var mid = lo + ((hi - lo) / 2);
            if (_sorted[mid].BeginAddress <= rva)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return found >= 0 && _sorted[found].Contains(rva) ? _sorted[found] : null;
    }

    /// <summary>The entry that starts exactly at <paramref name="begin"/>, if any.</summary>
    public RuntimeFunction? FindByBegin(uint begin) => FindContaining(begin) is { } f && f.BeginAddress == begin ? f : null;

    /// <summary>The entry stored at <paramref name="rva"/> inside the directory, when it is an entry boundary.</summary>
    public RuntimeFunction? EntryAt(uint rva) => _byEntryRva.TryGetValue(rva, out var i) ? Functions[i] : null;

    /// <summary>The UNWIND_INFO an entry names directly (not for indirect entries: resolve them first). Cached.</summary>
    public UnwindInfo GetUnwindInfo(RuntimeFunction entry) =>
        _infos.GetOrAdd(entry.UnwindInfoRva, (rva, e) => UnwindInfo.Read(_image, rva, e), entry);

    /// <summary>
    /// Follows a low-bit (RUNTIME_FUNCTION_INDIRECT) entry to an entry with a real UNWIND_INFO.
    /// The target must be an entry boundary inside the directory; cycles and depth are capped.
    /// </summary>
    public ChainWalk ResolveIndirect(RuntimeFunction entry)
    {
        var path = new List<RuntimeFunction> { entry };
        var visited = new HashSet<int> { entry.Index };
        var current = entry;
        while (current.IsIndirect)
        {
            if (path.Count > ChainLimit)
            {
                return new ChainWalk(path, ChainProblem.TooDeep);
            }

            var target = current.UnwindInfoRva;
            var inDirectory = target >= Directory.Rva && (ulong)target < (ulong)Directory.Rva + Directory.Size;
            if (!inDirectory)
            {
                return new ChainWalk(path, ChainProblem.Dangling, $"0x{target:X} is outside the exception directory");
            }

            if (EntryAt(target) is not { } next)
            {
                return new ChainWalk(path, ChainProblem.NotAtEntryBoundary, $"0x{target:X} is not at an entry boundary");
            }

            path.Add(next);
            if (!visited.Add(next.Index))
            {
                return new ChainWalk(path, ChainProblem.Cycle);
            }

            current = next;
        }

        return new ChainWalk(path, ChainProblem.None);
    }

    /// <summary>
    /// Follows CHAININFO links from an entry to its primary entry (one whose UNWIND_INFO has no
    /// CHAININFO). Each link must name an entry of the directory with the same begin, end and
    /// unwind data; indirect entries on the way are resolved. Iterative, visited set, depth cap.
    /// </summary>
    public ChainWalk WalkChain(RuntimeFunction entry)
    {
        var path = new List<RuntimeFunction>();
        var visitedInfos = new HashSet<uint>();
        var current = entry;
        for (var depth = 0; ; depth++)
        {
            if (current.IsIndirect)
            {
                var resolved = ResolveIndirect(current);
                path.AddRange(resolved.Path.Take(resolved.Path.Count - 1));
                if (!resolved.IsComplete)
                {
                    path.Add(resolved.End);
                    return new ChainWalk(path, resolved.Problem, resolved.Detail);
                }

                current = resolved.End;
            }

            path.Add(current);
            if (!visitedInfos.Add(current.UnwindInfoRva))
            {
                return new ChainWalk(path, ChainProblem.Cycle);
            }

            var info = GetUnwindInfo(current);
            if (!info.IsReadable)
            {
                return new ChainWalk(path, ChainProblem.Unreadable, $"UNWIND_INFO at 0x{current.UnwindInfoRva:X} cannot be read");
            }

            if (!info.IsChained)
            {
                return new ChainWalk(path, ChainProblem.None);
            }

            if (info.Chained is not { } link)
            {
                return new ChainWalk(path, ChainProblem.Unreadable, "the chained RUNTIME_FUNCTION cannot be read");
            }

            if (depth + 1 >= ChainLimit)
            {
                return new ChainWalk(path, ChainProblem.TooDeep);
            }

            if (FindByBegin(link.BeginAddress) is not { } parent)
            {
                path.Add(link);
                return new ChainWalk(path, ChainProblem.Dangling, $"no entry begins at 0x{link.BeginAddress:X}");
            }

            if (parent.EndAddress != link.EndAddress || parent.UnwindData != link.UnwindData)
            {
                path.Add(link);
                return new ChainWalk(path, ChainProblem.Mismatch,
                    $"the chained entry [0x{link.BeginAddress:X}, 0x{link.EndAddress:X}) unwind 0x{link.UnwindData:X} differs from the directory's [0x{parent.BeginAddress:X}, 0x{parent.EndAddress:X}) unwind 0x{parent.UnwindData:X}");
            }

            current = parent;
        }
    }

    /// <summary>The primary function a (possibly chained or indirect) entry belongs to, or null when its chain is broken.</summary>
    public RuntimeFunction? PrimaryOf(RuntimeFunction entry)
    {
        var walk = WalkChain(entry);
        return walk.IsComplete ? walk.End : null;
    }

    /// <summary>The UNWIND_INFO that applies to an entry after resolving a low-bit indirection, or null when it cannot be resolved.</summary>
    public UnwindInfo? EffectiveUnwindInfo(RuntimeFunction entry)
    {
        if (!entry.IsIndirect)
        {
            return GetUnwindInfo(entry);
        }

        var walk = ResolveIndirect(entry);
        return walk.IsComplete ? GetUnwindInfo(walk.End) : null;
    }

    private static ExceptionDirectory Read(PeImage image)
    {
        var directory = image.GetDirectory(DataDirectoryIndex.Exception);
        var problems = new List<PeProblem>();
        var functions = new List<RuntimeFunction>();
        var x64Ranges = ReadX64Ranges(image);
        if (!directory.IsPresent)
        {
            return new ExceptionDirectory(image, directory, functions, problems, x64Ranges);
        }

        if (directory.Size % RuntimeFunction.Size != 0)
        {
            problems.Add(new PeProblem(PeStructure.ExceptionDirectory, "size", $"the exception directory size {directory.Size} is not a multiple of 12", directory.Rva, directory.FileOffset, 8));
        }

        var count = (int)Math.Min(directory.Size / RuntimeFunction.Size, int.MaxValue / RuntimeFunction.Size);
        // File-backed only: the entry count is bounded by the file, never by the header alone.
        var available = image.Map.GetAvailableSpan(image.Bytes, directory.Rva, count * RuntimeFunction.Size);
        if (available.Length < count * RuntimeFunction.Size)
        {
            problems.Add(new PeProblem(PeStructure.ExceptionDirectory, "outside", $"the exception directory [0x{directory.Rva:X}, +{directory.Size}) is not all inside one section's file data; {available.Length / RuntimeFunction.Size} of {count} entries are readable", directory.Rva, directory.FileOffset, 8));
            count = available.Length / RuntimeFunction.Size;
        }

        var baseOffset = image.FileOffsetOf(directory.Rva);
        functions.Capacity = count;
        for (var i = 0; i < count; i++)
        {
            var at = i * RuntimeFunction.Size;
            SpanRead.TryUInt32(available, at, out var begin);
            SpanRead.TryUInt32(available, at + 4, out var end);
            SpanRead.TryUInt32(available, at + 8, out var unwind);
            functions.Add(new RuntimeFunction(i, begin, end, unwind, baseOffset + at));
        }

        return new ExceptionDirectory(image, directory, functions, problems, x64Ranges);
    }

    // ARM64EC/ARM64X: IMAGE_ARM64EC_METADATA { Version, CodeMap, CodeMapCount, ... } where each
    // IMAGE_CHPE_RANGE_ENTRY { StartOffset (low 2 bits: 0 ARM64, 1 ARM64EC, 2 AMD64), Length }.
    private static List<(uint, uint)>? ReadX64Ranges(PeImage image)
    {
        if (image.Machine != Machine.Amd64 || LoadConfig.LoadConfigDirectory.ToRva(image, image.LoadConfig.CHPEMetadataPointer) is not { } metadata)
        {
            return null;
        }

        var ranges = new List<(uint, uint)>();
        Span<byte> scratch = stackalloc byte[12];
        if (!image.TryRead(metadata, 12, scratch, out var header))
        {
            return ranges;
        }

        SpanRead.TryUInt32(header, 4, out var map);
        SpanRead.TryUInt32(header, 8, out var mapCount);
        var length = (int)Math.Min(mapCount, 1u << 16) * 8;
        var entries = image.Map.GetAvailableSpan(image.Bytes, map, length);
        for (var at = 0; at + 8 <= entries.Length; at += 8)
        {
            SpanRead.TryUInt32(entries, at, out var start);
            SpanRead.TryUInt32(entries, at + 4, out var size);
            if ((start & 3) == 2)
            {
                var s = start & ~3u;
                ranges.Add((s, (uint)Math.Min((ulong)s + size, uint.MaxValue)));
            }
        }

        return ranges;
    }
}
