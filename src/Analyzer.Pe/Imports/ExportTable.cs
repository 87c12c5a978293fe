using Pelint.Pe.Headers;
using Pelint.Pe.IO;

namespace Pelint.Pe.Imports;

/// <summary>One export: its ordinal, its names (an RVA may be exported under several), and either code/data or a forwarder.</summary>
public sealed record ExportedFunction(uint Ordinal, string? Name, uint Rva, string? Forwarder)
{
    public bool IsForwarder => Forwarder is not null;
}

/// <summary>
/// The export directory. Table sizes come from the header but are only trusted as far as the
/// file actually holds the tables.
/// </summary>
public sealed class ExportTable
{
    public const int MaxExports = 1 << 20;
    private const int DirectorySize = 40;
    private const int MaxNameLength = 1024;

    private readonly Dictionary<uint, string> _namesByRva;

    private ExportTable(DataDirectory directory, string? dllName, IReadOnlyList<ExportedFunction> functions, IReadOnlyList<PeProblem> problems)
    {
        Directory = directory;
        DllName = dllName;
        Functions = functions;
        Problems = problems;
        _namesByRva = [];
        foreach (var f in functions)
        {
            if (f.Name is not null && !f.IsForwarder)
            {
                _namesByRva.TryAdd(f.Rva, f.Name);
            }
        }
    }

    public DataDirectory Directory { get; }

    public string? DllName { get; }

    /// <summary>Exports in ordinal order; an RVA exported under two names appears twice.</summary>
    public IReadOnlyList<ExportedFunction> Functions { get; }

    public IReadOnlyList<PeProblem> Problems { get; }

    /// <summary>The first name exported for an RVA (by ordinal order), if any.</summary>
    public string? NameOf(uint rva) => _namesByRva.GetValueOrDefault(rva);

    public static ExportTable Read(PeImage image)
    {
        var dir = image.GetDirectory(DataDirectoryIndex.Export);
        var functions = new List<ExportedFunction>();
        var problems = new List<PeProblem>();
        if (!dir.IsPresent)
        {
            return new ExportTable(dir, null, functions, problems);
        }

        using var reader = image.OpenReader();
        Span<byte> scratch = stackalloc byte[DirectorySize];
        if (!reader.TryRead(dir.Rva, DirectorySize, scratch, out var d))
        {
            problems.Add(new PeProblem(PeStructure.Exports, ProblemCode.ExportDirectoryUnmapped,
                $"the export directory at RVA 0x{dir.Rva:X} is outside the image's sections", dir.Rva, dir.FileOffset, 8));
            return new ExportTable(dir, null, functions, problems);
        }

        SpanRead.TryUInt32(d, 12, out var nameRva);
        SpanRead.TryUInt32(d, 16, out var ordinalBase);
        SpanRead.TryUInt32(d, 20, out var functionCount);
        SpanRead.TryUInt32(d, 24, out var nameCount);
        SpanRead.TryUInt32(d, 28, out var functionsRva);
        SpanRead.TryUInt32(d, 32, out var namesRva);
        SpanRead.TryUInt32(d, 36, out var ordinalsRva);
        reader.TryReadAsciiZ(nameRva, MaxNameLength, out var dllName);

        var addresses = TableSpan(image, reader, functionsRva, functionCount, 4, "address table", problems);
        var names = TableSpan(image, reader, namesRva, nameCount, 4, "name pointer table", problems);
        var ordinals = TableSpan(image, reader, ordinalsRva, nameCount, 2, "ordinal table", problems);
        var addressCount = addresses.Length / 4;
        var nameByIndex = new Dictionary<int, string>();
        var namedCount = Math.Min(names.Length / 4, ordinals.Length / 2);
        for (var i = 0; i < namedCount; i++)
        {
            SpanRead.TryUInt32(names, i * 4, out var namePtr);
            SpanRead.TryUInt16(ordinals, i * 2, out var index);
            if (index < addressCount && reader.TryReadAsciiZ(namePtr, MaxNameLength, out var name))
            {
                nameByIndex.TryAdd(index, name);
            }
        }

        for (var i = 0; i < addressCount; i++)
        {
            SpanRead.TryUInt32(addresses, i * 4, out var rva);
            if (rva == 0)
            {
                continue;
            }

            nameByIndex.TryGetValue(i, out var name);
            string? forwarder = null;
            if (rva >= dir.Rva && rva < (ulong)dir.Rva + dir.Size)
            {
                reader.TryReadAsciiZ(rva, MaxNameLength, out var text);
                forwarder = text.Length > 0 ? text : "?";
            }

            functions.Add(new ExportedFunction(ordinalBase + (uint)i, name, rva, forwarder));
        }

        return new ExportTable(dir, string.IsNullOrEmpty(dllName) ? null : dllName, functions, problems);
    }

    // A copy: the three tables are read through one reader, and names are read between their entries.
    private static byte[] TableSpan(PeImage image, ImageReader reader, uint rva, uint count, int width, string what, List<PeProblem> problems)
    {
        if (count == 0)
        {
            return [];
        }

        var capped = Math.Min(count, MaxExports);
        var wanted = (long)capped * width;
        var span = reader.GetAvailableSpan(rva, (int)wanted);
        if (span.Length < wanted || capped < count)
        {
            problems.Add(new PeProblem(PeStructure.Exports, ProblemCode.ExportTableTruncated,
                $"the export {what} at RVA 0x{rva:X} declares {count} entries but the file holds {span.Length / width}", rva, image.FileOffsetOf(rva)));
        }

        return span[..(span.Length / width * width)].ToArray();
    }
}
