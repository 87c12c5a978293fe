using System.Buffers.Binary;
using System.Collections.Concurrent;

namespace Pelint.Pe.Exceptions.Arm64;

/// <summary>
/// A table of ARM64 .pdata entries: the exception directory of an ARM64 or ARM64X image, or
/// the CHPE extra table of an ARM64EC image. Entries are read once; their unwind records
/// (.xdata, or packed data expanded) are decoded lazily and cached per entry.
/// </summary>
public sealed class Arm64FunctionTable
{
    private readonly PeImage? _image;
    private readonly Arm64RuntimeFunction[] _functions;
    private readonly Arm64UnwindRecord?[] _records;
    private readonly ConcurrentDictionary<uint, Arm64UnwindRecord> _byRva = new();

    private Arm64FunctionTable(PeImage? image, string source, uint rva, uint size, long? fileOffset, Arm64RuntimeFunction[] functions, IReadOnlyList<PeProblem> problems)
    {
        _image = image;
        Source = source;
        Rva = rva;
        DeclaredSize = size;
        FileOffset = fileOffset;
        _functions = functions;
        _records = new Arm64UnwindRecord?[functions.Length];
        Problems = problems;
    }

    /// <summary>An image without ARM64 unwind data.</summary>
    public static Arm64FunctionTable Empty { get; } = new(null, "none", 0, 0, null, [], []);

    /// <summary>Where the table came from: "exception directory" or "CHPE extra table".</summary>
    public string Source { get; }

    public uint Rva { get; }

    public uint DeclaredSize { get; }

    /// <summary>File offset of the table's first byte (or of the field that declares it, when the table is unmapped).</summary>
    public long? FileOffset { get; }

    public bool IsPresent => DeclaredSize != 0;

    public IReadOnlyList<Arm64RuntimeFunction> Functions => _functions;

    /// <summary>Problems reading the table itself (size, truncation).</summary>
    public IReadOnlyList<PeProblem> Problems { get; }

    /// <summary>
    /// The unwind record of an entry: its .xdata (Flag 0) or its packed data expanded (Flag 1
    /// and 2); null for the reserved Flag 3.
    /// </summary>
    public Arm64UnwindRecord? RecordOf(Arm64RuntimeFunction entry)
    {
        if (_image is null || entry.Flag == 3)
        {
            return null;
        }

        var own = (uint)entry.Index < (uint)_functions.Length && _functions[entry.Index] == entry;
        if (own && Volatile.Read(ref _records[entry.Index]) is { } memo)
        {
            return memo;
        }

        var record = entry.IsPacked ? entry.Packed.Expand() : _byRva.GetOrAdd(entry.XdataRva, static (rva, image) => Arm64UnwindRecord.Read(image, rva), _image);
        if (own)
        {
            _records[entry.Index] = record;
        }

        return record;
    }

    /// <summary>The function's length in bytes (from its packed data or .xdata header); 0 when unknown.</summary>
    public uint LengthOf(Arm64RuntimeFunction entry) => entry.IsPacked ? entry.Packed.FunctionLength : RecordOf(entry) is { Problems.Count: 0 } r ? r.FunctionLength : 0;

    /// <summary>The entry whose function contains <paramref name="rva"/> (binary search on begin; entries assumed sorted).</summary>
    public Arm64RuntimeFunction? FindContaining(uint rva)
    {
        int lo = 0, hi = _functions.Length - 1, found = -1;
        while (lo <= hi)
        {
            var mid = lo + ((hi - lo) / 2);
            if (_functions[mid].BeginAddress <= rva)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        if (found < 0)
        {
            return null;
        }

        var f = _functions[found];
        return (ulong)rva < (ulong)f.BeginAddress + LengthOf(f) ? f : null;
    }

    /// <summary>The entry stored at an RVA inside the table, if the RVA is an entry boundary.</summary>
    public Arm64RuntimeFunction? EntryAt(uint rva)
    {
        if (rva < Rva || (rva - Rva) % Arm64RuntimeFunction.Size != 0 || (rva - Rva) / Arm64RuntimeFunction.Size >= (uint)_functions.Length)
        {
            return null;
        }

        return _functions[(int)((rva - Rva) / Arm64RuntimeFunction.Size)];
    }

    /// <summary>Reads the table at [rva, rva+size); the entry array is sized by the bytes in the file, never by the claim.</summary>
    public static Arm64FunctionTable Read(PeImage image, string source, uint rva, uint size, long declaredAt)
    {
        var problems = new List<PeProblem>();
        if (size == 0)
        {
            return new Arm64FunctionTable(image, source, rva, size, declaredAt, [], problems);
        }

        var fileOffset = image.FileOffsetOf(rva);
        if (size % Arm64RuntimeFunction.Size != 0)
        {
            problems.Add(new PeProblem(PeStructure.ExceptionDirectory, ProblemCode.Arm64PdataSizeNotMultiple,
                $"the ARM64 function table ({source}) is {size} bytes, not a multiple of {Arm64RuntimeFunction.Size}", rva, declaredAt, 8));
        }

        var wanted = (int)Math.Min(size / Arm64RuntimeFunction.Size, int.MaxValue / Arm64RuntimeFunction.Size) * Arm64RuntimeFunction.Size;
        using var reader = image.OpenReader();
        var span = reader.GetAvailableSpan(rva, wanted);
        if (span.Length < wanted)
        {
            problems.Add(new PeProblem(PeStructure.ExceptionDirectory, ProblemCode.Arm64PdataTruncated,
                $"the ARM64 function table ({source}) declares {size / Arm64RuntimeFunction.Size} entries but the file holds {span.Length / Arm64RuntimeFunction.Size}", rva, declaredAt, 8));
        }

        var count = span.Length / Arm64RuntimeFunction.Size;
        var functions = new Arm64RuntimeFunction[count];
        var start = fileOffset ?? 0;
        for (var i = 0; i < count; i++)
        {
            var e = span.Slice(i * Arm64RuntimeFunction.Size, Arm64RuntimeFunction.Size);
            functions[i] = new Arm64RuntimeFunction(i, BinaryPrimitives.ReadUInt32LittleEndian(e), BinaryPrimitives.ReadUInt32LittleEndian(e[4..]), start + (i * Arm64RuntimeFunction.Size));
        }

        return new Arm64FunctionTable(image, source, rva, size, fileOffset ?? declaredAt, functions, problems);
    }
}
