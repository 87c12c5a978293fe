using System.Buffers.Binary;

namespace Pelint.Pe.Exceptions;

/// <summary>
/// One C scope record (SCOPE_TABLE entry): the guarded range, the filter RVA or 1
/// (EXCEPTION_EXECUTE_HANDLER), and the __except body, or 0 for a __finally record whose
/// HandlerAddress is then the termination handler.
/// </summary>
public readonly record struct ScopeRecord(int Index, uint BeginAddress, uint EndAddress, uint HandlerAddress, uint JumpTarget)
{
    public const int Size = 16;

    public bool IsFinally => JumpTarget == 0;

    public bool AlwaysHandles => HandlerAddress == 1;
}

/// <summary>The language-specific data of __C_specific_handler: <c>ULONG Count; SCOPE_RECORD[Count]</c>.</summary>
public sealed record ScopeTable(uint Rva, uint Count, IReadOnlyList<ScopeRecord> Records, PeProblem? Problem)
{
    /// <summary>More records than this is not a table a compiler wrote (MSVC caps nesting far below).</summary>
    public const uint MaxSaneCount = 4096;

    public static ScopeTable Read(PeImage image, uint rva)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var reader = image.OpenReader();
        return Read(reader, rva);
    }

    /// <summary>The table at <paramref name="rva"/>, read through a reader the caller keeps for many tables.</summary>
    public static ScopeTable Read(IO.ImageReader reader, uint rva)
    {
        ArgumentNullException.ThrowIfNull(reader);
        Span<byte> scratch = stackalloc byte[4];
        if (!reader.TryRead(rva, 4, scratch, out var c))
        {
            return Broken(rva, 0, ProblemCode.ScopeTableUnmapped, $"the scope table at RVA 0x{rva:X} is outside the image's sections");
        }

        var count = BinaryPrimitives.ReadUInt32LittleEndian(c);
        if (count > MaxSaneCount)
        {
            return Broken(rva, count, ProblemCode.ScopeTableAbsurdCount, $"the scope table at RVA 0x{rva:X} declares {count} records (more than {MaxSaneCount})");
        }

        var bytes = (int)count * ScopeRecord.Size;
        if (!reader.Map.IsMapped(rva + 4, (uint)bytes) || !reader.TryGetSpan(rva + 4, bytes, out var table))
        {
            return Broken(rva, count, ProblemCode.ScopeTableOutsideSection, $"the scope table at RVA 0x{rva:X} declares {count} records that run past the end of its section");
        }

        var records = new ScopeRecord[count];
        for (var i = 0; i < count; i++)
        {
            var r = table.Slice(i * ScopeRecord.Size, ScopeRecord.Size);
            records[i] = new ScopeRecord(i, BinaryPrimitives.ReadUInt32LittleEndian(r), BinaryPrimitives.ReadUInt32LittleEndian(r[4..]),
                BinaryPrimitives.ReadUInt32LittleEndian(r[8..]), BinaryPrimitives.ReadUInt32LittleEndian(r[12..]));
        }

        return new ScopeTable(rva, count, records, null);
    }

    private static ScopeTable Broken(uint rva, uint count, ProblemCode code, string message) =>
        new(rva, count, [], new PeProblem(PeStructure.ScopeTable, code, message, rva));
}
