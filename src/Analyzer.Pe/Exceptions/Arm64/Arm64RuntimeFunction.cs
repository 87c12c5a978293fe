namespace Pelint.Pe.Exceptions.Arm64;

/// <summary>
/// One 8-byte ARM64 .pdata entry: the function's start RVA, then a word whose low two bits
/// (Flag) say what the rest is: 0 the RVA of an .xdata record, 1 or 2 packed unwind data,
/// 3 reserved.
/// </summary>
public readonly record struct Arm64RuntimeFunction(int Index, uint BeginAddress, uint UnwindData, long FileOffset)
{
    public const int Size = 8;

    public int Flag => (int)(UnwindData & 3);

    public bool IsPacked => Flag is 1 or 2;

    /// <summary>RVA of the .xdata record (Flag 0).</summary>
    public uint XdataRva => UnwindData & ~3u;

    public Arm64PackedUnwind Packed => new(UnwindData);
}
