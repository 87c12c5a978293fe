namespace Pelint.Pe.Exceptions;

/// <summary>
/// One 12-byte entry of the exception directory. When <see cref="UnwindData"/> has bit 0 set
/// (RUNTIME_FUNCTION_INDIRECT) it is the RVA of another entry whose unwind data applies.
/// </summary>
public readonly record struct RuntimeFunction(int Index, uint BeginAddress, uint EndAddress, uint UnwindData, long FileOffset)
{
    public const int Size = 12;

    public bool IsIndirect => (UnwindData & 1) != 0;

    /// <summary>UnwindData with the low bit cleared: an UNWIND_INFO RVA, or for indirect entries an entry's RVA.</summary>
    public uint TargetRva => UnwindData & ~1u;

    public uint Length => EndAddress > BeginAddress ? EndAddress - BeginAddress : 0;

    public bool Contains(uint rva) => rva >= BeginAddress && rva < EndAddress;
}
