namespace Pelint.Pe.Exceptions.Arm64;

/// <summary>
/// One epilog scope word of an .xdata record: bits 0-17 the epilog's start offset in the
/// function divided by 4, bits 18-21 reserved (must be 0), bits 22-31 the byte index of its
/// first unwind code.
/// </summary>
public readonly record struct Arm64EpilogScope(uint Word)
{
    /// <summary>Offset of the epilog's first instruction from the function's start, in bytes.</summary>
    public uint StartOffset => (Word & 0x3FFFF) * 4;

    public int Reserved => (int)((Word >> 18) & 0xF);

    public int StartIndex => (int)(Word >> 22);
}
