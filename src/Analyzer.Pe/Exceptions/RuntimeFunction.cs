namespace Pelint.Pe.Exceptions;

/// <summary>One 12-byte RUNTIME_FUNCTION of the exception directory, as written in the file.</summary>
/// <param name="Index">Position in the directory (0-based).</param>
/// <param name="BeginAddress">RVA of the first byte of the function (or fragment).</param>
/// <param name="EndAddress">RVA one past its last byte.</param>
/// <param name="UnwindData">The raw third field: an UNWIND_INFO RVA, or with bit 0 set another entry's RVA.</param>
/// <param name="FileOffset">File offset of the entry, when file-backed.</param>
public readonly record struct RuntimeFunction(int Index, uint BeginAddress, uint EndAddress, uint UnwindData, long? FileOffset)
{
    public const int Size = 12;

    /// <summary>RUNTIME_FUNCTION_INDIRECT: bit 0 set means "use the entry at UnwindData &amp; ~1".</summary>
    public bool IsIndirect => (UnwindData & 1) != 0;

    /// <summary>UnwindData with bit 0 cleared: the UNWIND_INFO RVA, or for an indirect entry the RVA of the entry it refers to.</summary>
    public uint UnwindInfoRva => UnwindData & ~1u;

    public uint Length => EndAddress > BeginAddress ? EndAddress - BeginAddress : 0;

    public bool Contains(uint rva) => rva >= BeginAddress && rva < EndAddress;
}
