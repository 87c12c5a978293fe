using Pelint.Pe.IO;

namespace Pelint.Pe.Exceptions;

/// <summary>One C scope record: a guarded range, its filter (or 1, or the __finally handler) and the __except target (0 for __finally).</summary>
public readonly record struct ScopeRecord(int Index, uint BeginAddress, uint EndAddress, uint HandlerAddress, uint JumpTarget)
{
    public const int Size = 16;

    /// <summary>JumpTarget 0 marks a __finally record whose HandlerAddress is the termination handler.</summary>
    public bool IsFinally => JumpTarget == 0;

    /// <summary>HandlerAddress 1 is EXCEPTION_EXECUTE_HANDLER: the filter always accepts.</summary>
    public bool IsAlwaysExecute => HandlerAddress == 1;
}

/// <summary>
/// The SCOPE_TABLE that __C_specific_handler (and __GSHandlerCheck_SEH) reads from the language
/// data: ULONG Count, then Count records of four RVAs.
/// </summary>
public sealed record ScopeTable(uint Rva, uint Count, IReadOnlyList<ScopeRecord> Records, PeProblem? Problem)
{
    /// <summary>No real function has this many __try scopes; a larger count is garbage, and is not read.</summary>
    public const uint MaxSaneCount = 1024;

    public bool IsValid => Problem is null;

    public static ScopeTable Read(PeImage image, uint rva)
    {
        Span<byte> scratch = stackalloc byte[4];
        if (!image.TryRead(rva, 4, scratch, out var countBytes))
        {
            return new ScopeTable(rva, 0, [], Bad(image, rva, "outside", $"the scope table at RVA 0x{rva:X} is outside the image"));
        }

        SpanRead.TryUInt32(countBytes, 0, out var count);
        if (count > MaxSaneCount)
        {
            return new ScopeTable(rva, count, [], Bad(image, rva, "count", $"the scope table at RVA 0x{rva:X} declares {count} records (more than {MaxSaneCount})"));
        }

        var length = (int)count * ScopeRecord.Size;
        if (!image.TryGetSpan(rva + 4, length, out var data))
        {
            return new ScopeTable(rva, count, [], Bad(image, rva, "truncated", $"the scope table at RVA 0x{rva:X} with {count} records runs past its section's data"));
        }

        var records = new ScopeRecord[count];
        for (var i = 0; i < records.Length; i++)
        {
            var at = i * ScopeRecord.Size;
            SpanRead.TryUInt32(data, at, out var begin);
            SpanRead.TryUInt32(data, at + 4, out var end);
            SpanRead.TryUInt32(data, at + 8, out var handler);
            SpanRead.TryUInt32(data, at + 12, out var target);
            records[i] = new ScopeRecord(i, begin, end, handler, target);
        }

        return new ScopeTable(rva, count, records, null);
    }

    private static PeProblem Bad(PeImage image, uint rva, string code, string message) =>
        new(PeStructure.ScopeTable, code, message, rva, image.FileOffsetOf(rva), 4);
}
