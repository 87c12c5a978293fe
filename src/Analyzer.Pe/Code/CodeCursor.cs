using Iced.Intel;

namespace Pelint.Pe.Code;

/// <summary>
/// One reusable Iced decoder reading the image's bytes in place: <see cref="Seek"/> a range,
/// then <see cref="TryNext"/> until it ends. Decoding allocates nothing, so a rule can walk every
/// function of a large image with one cursor. Not thread-safe: one cursor per worker.
/// </summary>
public sealed unsafe class CodeCursor
{
    private readonly PeImage _image;
    private readonly PointerCodeReader _reader;
    private readonly Decoder _decoder;
    private ulong _end;

    internal CodeCursor(PeImage image, int bitness)
    {
        _image = image;
        _reader = new PointerCodeReader(image.BasePointer);
        _decoder = Decoder.Create(bitness, _reader);
    }

    /// <summary>
    /// Positions the cursor at <paramref name="rva"/> for at most <paramref name="length"/> bytes
    /// (capped at <see cref="ImageCode.MaxDecodeBytes"/> and at the file bytes of the section) and
    /// returns how many bytes it will decode: 0 when none is in the file.
    /// </summary>
    public int Seek(uint rva, int length)
    {
        length = Math.Clamp(length, 0, ImageCode.MaxDecodeBytes);
        if (length == 0 || !_image.Map.TryGetFileOffset(rva, out var offset, out var available))
        {
            _reader.Reset(0, 0);
            _decoder.IP = rva;
            _end = rva;
            return 0;
        }

        var count = (int)Math.Min(available, length);
        _reader.Reset(offset, count);
        _decoder.IP = rva;
        _end = rva + (ulong)count;
        return count;
    }

    /// <summary>Decodes the next instruction of the range; false at its end. Undecodable bytes come back as <see cref="Code.INVALID"/>.</summary>
    public bool TryNext(out Instruction instruction)
    {
        if (_decoder.IP >= _end)
        {
            instruction = default;
            return false;
        }

        _decoder.Decode(out instruction);
        return true;
    }

    /// <summary>The instruction at <paramref name="rva"/>, or false when no byte of it is in the file.</summary>
    public bool TryDecodeAt(uint rva, out Instruction instruction)
    {
        // 15 bytes is the architectural maximum instruction length.
        Seek(rva, 15);
        return TryNext(out instruction);
    }

    /// <summary>
    /// The instruction at a file offset, reading at most <paramref name="maxLength"/> bytes (as a
    /// linear decode that ends there would); false when no byte is there.
    /// </summary>
    public bool TryDecodeAtOffset(long fileOffset, int maxLength, ulong ip, out Instruction instruction)
    {
        var count = (int)Math.Clamp(Math.Min(maxLength, _image.FileLength - fileOffset), 0, 15);
        if (fileOffset < 0 || count <= 0)
        {
            instruction = default;
            return false;
        }

        _reader.Reset(fileOffset, count);
        _decoder.IP = ip;
        _end = ip + (ulong)count;
        _decoder.Decode(out instruction);
        return true;
    }

    /// <summary>Reads [offset, offset+count) of the file in place; -1 past it, as Iced expects.</summary>
    private sealed class PointerCodeReader(byte* file) : CodeReader
    {
        private long _position;
        private long _end;

        public void Reset(long offset, int count)
        {
            _position = offset;
            _end = offset + count;
        }

        public override int ReadByte() => _position < _end ? file[_position++] : -1;
    }
}
