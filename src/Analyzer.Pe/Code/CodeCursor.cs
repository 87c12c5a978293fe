using Iced.Intel;

namespace Pelint.Pe.Code;

/// <summary>
/// One reusable Iced decoder reading the image's bytes in place, one instruction at a time:
/// decoding allocates nothing, so a rule can visit every function of a large image with one
/// cursor. Not thread-safe: one cursor per worker.
/// </summary>
public sealed unsafe class CodeCursor
{
    /// <summary>The architectural maximum instruction length.</summary>
    private const int MaxInstructionLength = 15;

    private readonly PeImage _image;
    private readonly PointerCodeReader _reader;
    private readonly Decoder _decoder;

    internal CodeCursor(PeImage image, int bitness)
    {
        _image = image;
        _reader = new PointerCodeReader(image.BasePointer);
        _decoder = Decoder.Create(bitness, _reader);
    }

    /// <summary>The instruction at <paramref name="rva"/>, or false when no byte of it is in the file.</summary>
    public bool TryDecodeAt(uint rva, out Instruction instruction)
    {
        if (!_image.Map.TryGetFileOffset(rva, out var offset, out var available))
        {
            instruction = default;
            return false;
        }

        return TryDecodeAtOffset(offset, (int)Math.Min(available, MaxInstructionLength), rva, out instruction);
    }

    /// <summary>
    /// The instruction at a file offset, reading at most <paramref name="maxLength"/> bytes (as a
    /// linear decode that ends there would); false when no byte is there. Undecodable bytes come
    /// back as <see cref="Code.INVALID"/>.
    /// </summary>
    public bool TryDecodeAtOffset(long fileOffset, int maxLength, ulong ip, out Instruction instruction)
    {
        var count = (int)Math.Clamp(Math.Min(maxLength, _image.FileLength - fileOffset), 0, MaxInstructionLength);
        if (fileOffset < 0 || count <= 0)
        {
            instruction = default;
            return false;
        }

        _reader.Reset(fileOffset, count);
        _decoder.IP = ip;
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
