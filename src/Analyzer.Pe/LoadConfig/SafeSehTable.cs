using System.Buffers.Binary;

namespace Pelint.Pe.LoadConfig;

/// <summary>
/// The x86 safe exception handler table (<c>/SAFESEH</c>): the RVAs of the image's valid SEH
/// handlers, named by the 32-bit load config's SEHandlerTable (a VA) and SEHandlerCount. Read only
/// for PE32 images whose load config's Size covers both fields. The count is untrusted: at most
/// <see cref="MaxEntries"/> entries are read, and only those the table's section holds; each
/// shortfall is a problem.
/// </summary>
public sealed class SafeSehTable
{
    /// <summary>The most handlers read (4 MiB of RVAs); the largest table seen in real images holds a few thousand.</summary>
    public const int MaxEntries = 1 << 20;

    // IMAGE_LOAD_CONFIG_DIRECTORY32: SEHandlerTable at 64, SEHandlerCount at 68.
    private const int TableFieldOffset = 64;
    private const int CountFieldOffset = 68;
    private const int ChunkEntries = 1024;

    private SafeSehTable(IReadOnlyList<uint> handlers, IReadOnlyList<PeProblem> problems)
    {
        Handlers = handlers;
        Problems = problems;
    }

    /// <summary>Whether the load config's Size covers SEHandlerTable and SEHandlerCount (a PE32 image only).</summary>
    public bool HasFields { get; private init; }

    /// <summary>SEHandlerTable as written (a VA; 0 when the image has no table).</summary>
    public ulong TableVa { get; private init; }

    /// <summary>SEHandlerCount as written.</summary>
    public ulong DeclaredCount { get; private init; }

    /// <summary>The table's RVA when SEHandlerTable lies inside the image.</summary>
    public uint? TableRva { get; private init; }

    /// <summary>File offset of the load config's SEHandlerTable field.</summary>
    public long? TableFieldFileOffset { get; private init; }

    /// <summary>File offset of the load config's SEHandlerCount field.</summary>
    public long? CountFieldFileOffset { get; private init; }

    /// <summary>A table is named: SEHandlerTable is not 0.</summary>
    public bool IsPresent => HasFields && TableVa != 0;

    /// <summary>The handler RVAs as read, in table order.</summary>
    public IReadOnlyList<uint> Handlers { get; }

    public IReadOnlyList<PeProblem> Problems { get; }

    /// <summary>File offset of the table entry at <paramref name="index"/>, when it is in the file.</summary>
    public long? EntryFileOffset(PeImage image, int index)
    {
        ArgumentNullException.ThrowIfNull(image);
        return TableRva is { } rva && (ulong)rva + ((ulong)index * 4) <= uint.MaxValue ? image.FileOffsetOf(rva + ((uint)index * 4)) : null;
    }

    public static SafeSehTable Read(PeImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var config = image.LoadConfig;
        if (image.IsPe32Plus || !config.IsPresent || config.SEHandlerTable is not { } tableVa || config.SEHandlerCount is not { } count)
        {
            return new SafeSehTable([], []);
        }

        var problems = new List<PeProblem>();
        var handlers = new List<uint>();
        var tableRva = LoadConfigDirectory.ToRva(image, tableVa);
        var result = new SafeSehTable(handlers, problems)
        {
            HasFields = true,
            TableVa = tableVa,
            DeclaredCount = count,
            TableRva = tableVa == 0 ? null : tableRva,
            TableFieldFileOffset = config.FileOffset + TableFieldOffset,
            CountFieldFileOffset = config.FileOffset + CountFieldOffset,
        };
        if (tableVa == 0 || count == 0)
        {
            return result;
        }

        if (tableRva is not { } rva)
        {
            problems.Add(new PeProblem(PeStructure.LoadConfig, ProblemCode.SafeSehTableOutsideImage,
                $"SEHandlerTable 0x{tableVa:X} lies outside the image (ImageBase 0x{image.ImageBase:X}, SizeOfImage 0x{image.Map.SizeOfImage:X})",
                null, result.TableFieldFileOffset, 4));
            return result;
        }

        var wanted = (int)Math.Min(count, MaxEntries);
        if (count > MaxEntries)
        {
            problems.Add(new PeProblem(PeStructure.LoadConfig, ProblemCode.SafeSehCountOverCap,
                $"SEHandlerCount is {count:N0}; only the first {MaxEntries:N0} handlers are checked", null, result.CountFieldFileOffset, 4));
        }

        ReadEntries(image, rva, wanted, handlers);
        if (handlers.Count < wanted)
        {
            problems.Add(new PeProblem(PeStructure.LoadConfig, ProblemCode.SafeSehTableTruncated,
                $"the table at RVA 0x{rva:X} declares {count:N0} handlers but its section holds only {handlers.Count:N0}",
                rva, image.FileOffsetOf(rva), 4));
        }

        return result;
    }

    // Reads up to `wanted` RVAs as the loader sees them (zero past a section's raw data), stopping
    // where the table leaves its section: the list grows only with bytes that exist.
    private static void ReadEntries(PeImage image, uint rva, int wanted, List<uint> handlers)
    {
        using var reader = image.OpenReader();
        Span<byte> scratch = stackalloc byte[ChunkEntries * 4];
        while (handlers.Count < wanted)
        {
            var at = (ulong)rva + ((ulong)handlers.Count * 4);
            if (at > uint.MaxValue - 4)
            {
                return;
            }

            var n = Math.Min(ChunkEntries, wanted - handlers.Count);
            if (!reader.TryRead((uint)at, n * 4, scratch, out var bytes))
            {
                // The chunk crosses the section's end: take what lies inside, one entry at a time.
                for (var i = 0; i < n && reader.TryRead((uint)at + ((uint)i * 4), 4, scratch, out var one); i++)
                {
                    handlers.Add(BinaryPrimitives.ReadUInt32LittleEndian(one));
                }

                return;
            }

            for (var i = 0; i < n; i++)
            {
                handlers.Add(BinaryPrimitives.ReadUInt32LittleEndian(bytes[(i * 4)..]));
            }
        }
    }
}
