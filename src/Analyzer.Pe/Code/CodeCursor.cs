using Iced.Intel;
using Pelint.Pe.IO;

namespace Pelint.Pe.Code;

/// <summary>
/// One reusable Iced decoder, one instruction at a time, from bytes the caller already holds (a
/// window of an <see cref="ImageReader"/>) or read through the cursor's own reader: decoding
/// allocates nothing, so a rule can visit every function of a large image with one cursor. Not
/// thread-safe: one cursor per worker.
/// </summary>
public sealed class CodeCursor : IDisposable
{
    /// <summary>The architectural maximum instruction length.</summary>
    public const int MaxInstructionLength = 15;

    private readonly ImageReader _reader;
    private readonly InstructionBytes _bytes = new();
    private readonly Decoder _decoder;

    internal CodeCursor(PeImage image, int bitness)
    {
        _reader = image.OpenReader();
        _decoder = Decoder.Create(bitness, _bytes);
    }

    /// <summary>The instruction at <paramref name="rva"/>, or false when no byte of it is in the file.</summary>
    public bool TryDecodeAt(uint rva, out Instruction instruction)
    {
        var code = _reader.GetAvailableSpan(rva, MaxInstructionLength);
        if (code.IsEmpty)
        {
            instruction = default;
            return false;
        }

        Decode(code, rva, out instruction);
        return true;
    }

    /// <summary>
    /// The instruction at the start of <paramref name="code"/>, reading at most its first 15
    /// bytes (as a linear decode that ends where <paramref name="code"/> ends would); undecodable
    /// or missing bytes come back as <see cref="Code.INVALID"/>.
    /// </summary>
    public void Decode(ReadOnlySpan<byte> code, ulong ip, out Instruction instruction)
    {
        _bytes.Reset(code[..Math.Min(code.Length, MaxInstructionLength)]);
        _decoder.IP = ip;
        _decoder.Decode(out instruction);
    }

    public void Dispose() => _reader.Dispose();

    /// <summary>A copy of one instruction's bytes (Iced reads through a class, which cannot hold a span); -1 past them, as Iced expects.</summary>
    private sealed class InstructionBytes : CodeReader
    {
        private readonly byte[] _buffer = new byte[MaxInstructionLength];
        private int _position;
        private int _end;

        public void Reset(ReadOnlySpan<byte> code)
        {
            code.CopyTo(_buffer);
            _position = 0;
            _end = code.Length;
        }

        public override int ReadByte() => _position < _end ? _buffer[_position++] : -1;
    }
}
