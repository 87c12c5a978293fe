using System.Buffers.Binary;
using Pelint.Pe;
using Pelint.Pe.Exceptions;
using Pelint.Pe.IO;

namespace Pelint.Analysis.StackWalk;

/// <summary>
/// An UNWIND_INFO as the unwinder reads it: slot by slot, with no interpretation beyond the
/// header. The verifier's unwinder walks these raw slots (not the decoded record) because the
/// real one does, with its quirks: UWOP_EPILOG takes two slots in the prolog walk, an unknown
/// op stops it, and SET_FPREG is looked up by slot.
/// </summary>
public readonly ref struct RawUnwindInfo
{
    private readonly ReadOnlySpan<byte> _bytes;

    private RawUnwindInfo(uint rva, ReadOnlySpan<byte> bytes)
    {
        Rva = rva;
        _bytes = bytes;
    }

    public uint Rva { get; }

    public int Version => _bytes[0] & 7;

    public UnwindFlags Flags => (UnwindFlags)(_bytes[0] >> 3);

    public bool IsChained => (Flags & UnwindFlags.ChainInfo) != 0;

    public int SizeOfProlog => _bytes[1];

    public int CountOfCodes => _bytes[2];

    public int FrameRegister => _bytes[3] & 0xF;

    /// <summary>FrameOffset as stored (the unwinder scales it by 16).</summary>
    public int FrameOffset => _bytes[3] >> 4;

    /// <summary>Slot <paramref name="index"/>'s CodeOffset (an out-of-range slot reads as 0xFF, past every prolog offset).</summary>
    public int CodeOffset(int index) => HasSlot(index) ? _bytes[4 + (index * 2)] : 0xFF;

    public UnwindOp Op(int index) => HasSlot(index) ? (UnwindOp)(_bytes[5 + (index * 2)] & 0xF) : UnwindOp.SpareCode;

    public int OpInfo(int index) => HasSlot(index) ? _bytes[5 + (index * 2)] >> 4 : 0;

    /// <summary>Slot <paramref name="index"/> read as a 16-bit operand.</summary>
    public int Operand(int index) => HasSlot(index) ? BinaryPrimitives.ReadUInt16LittleEndian(_bytes[(4 + (index * 2))..]) : 0;

    public bool HasSlot(int index) => (uint)index < (uint)CountOfCodes;

    /// <summary>The chained RUNTIME_FUNCTION stored after the (even-padded) code array.</summary>
    public (uint Begin, uint End, uint UnwindData) Chained
    {
        get
        {
            var at = 4 + (((CountOfCodes + 1) & ~1) * 2);
            return (BinaryPrimitives.ReadUInt32LittleEndian(_bytes[at..]), BinaryPrimitives.ReadUInt32LittleEndian(_bytes[(at + 4)..]),
                BinaryPrimitives.ReadUInt32LittleEndian(_bytes[(at + 8)..]));
        }
    }

    /// <summary>Slots an op takes in the prolog walk (the SDK's table: UWOP_EPILOG takes two).</summary>
    public static int Slots(UnwindOp op, int opInfo) => op switch
    {
        UnwindOp.AllocLarge => opInfo != 0 ? 3 : 2,
        UnwindOp.SaveNonvol or UnwindOp.Epilog or UnwindOp.SaveXmm128 => 2,
        UnwindOp.SaveNonvolFar or UnwindOp.SpareCode or UnwindOp.SaveXmm128Far => 3,
        _ => 1,
    };

    /// <summary>The most bytes a record can take: header, 256 slots, a chained entry.</summary>
    public const int MaxLength = UnwindInfo.HeaderSize + (256 * 2) + RuntimeFunction.Size;

    /// <summary>
    /// The record at <paramref name="rva"/>, when its header, codes and chained entry are in the
    /// file, copied into <paramref name="copy"/>: the record stays readable whatever the reader
    /// reads next. The copy remembers the last record it holds, so asking again for it (every
    /// instruction of a function asks for the function's record) reads nothing.
    /// </summary>
    public static bool TryRead(ImageReader reader, uint rva, Copy copy, out RawUnwindInfo info)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(copy);
        info = default;
        if (copy.Rva != rva || copy.Length < 0)
        {
            copy.Rva = rva;
            copy.Length = Read(reader, rva, copy.Buffer);
        }

        if (copy.Length == 0)
        {
            return false;
        }

        info = new RawUnwindInfo(rva, copy.Buffer.AsSpan(0, copy.Length));
        return true;
    }

    // The record's length once copied into `buffer`; 0 when it is not all in the file.
    private static int Read(ImageReader reader, uint rva, byte[] buffer)
    {
        if ((rva & 1) != 0 || !reader.TryGetSpan(rva, UnwindInfo.HeaderSize, out var header))
        {
            return 0;
        }

        var length = UnwindInfo.HeaderSize + (((header[2] + 1) & ~1) * 2);
        if (((header[0] >> 3) & (int)UnwindFlags.ChainInfo) != 0)
        {
            length += RuntimeFunction.Size;
        }

        if (!reader.TryGetSpan(rva, length, out var bytes))
        {
            return 0;
        }

        bytes.CopyTo(buffer);
        return length;
    }

    /// <summary>The record at <paramref name="rva"/>, read once on its own (tests, investigations).</summary>
    public static bool TryRead(PeImage image, uint rva, out RawUnwindInfo info)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var reader = image.OpenReader();
        return TryRead(reader, rva, new Copy(), out info);
    }

    /// <summary>A record copied out of the file, for one use at a time (see <see cref="TryRead(ImageReader, uint, Copy, out RawUnwindInfo)"/>).</summary>
    public sealed class Copy
    {
        internal byte[] Buffer { get; } = new byte[MaxLength];

        internal uint Rva { get; set; }

        // -1 before the first read; 0 when the record at Rva is not all in the file.
        internal int Length { get; set; } = -1;
    }
}
