using Iced.Intel;
using Pelint.Pe.IO;

namespace Pelint.Pe.Code;

/// <summary>
/// One reusable Iced decoder, one instruction at a time, from bytes the caller already holds (a
/// window of an <see cref="ImageReader"/>) or read through the cursor's own reader: decoding
/// allocates nothing, so a rule can visit every function of a large image with one cursor. The
/// cursor keeps the run of code it last read (up to <see cref="RunBytes"/> bytes of one mapping)
/// and decodes from it in place while the instructions asked for lie in it. Not thread-safe: one
/// cursor per worker.
/// </summary>
public sealed class CodeCursor : IDisposable
{
    /// <summary>The architectural maximum instruction length.</summary>
    public const int MaxInstructionLength = 15;

    /// <summary>How much code one read of the cursor takes in (fewer at the end of a mapping).</summary>
    public const int RunBytes = 4096;

    private readonly ImageReader _reader;
    private readonly InstructionBytes _bytes = new();
    private readonly Decoder _decoder;

    // The run: the bytes a read at _runStart gives, valid until the cursor's reader reads again
    // (only the cursor reads through it). An instruction at _runStart + k is decoded from it when
    // k < _runUsable (the same mapping as _runStart) and its 15 bytes are in the run, or the run
    // holds every byte of the mapping after it (_runToEnd): then it sees what a read at its own
    // address would.
    private ArraySegment<byte> _run = ArraySegment<byte>.Empty;
    private uint _runStart;
    private long _runUsable;
    private bool _runToEnd;

    internal CodeCursor(PeImage image, int bitness)
    {
        _reader = image.OpenReader();
        _decoder = Decoder.Create(bitness, _bytes);
    }

    /// <summary>The instruction at <paramref name="rva"/>, or false when no byte of it is in the file.</summary>
    public bool TryDecodeAt(uint rva, out Instruction instruction)
    {
        if (!TryRunAt(rva, out var at))
        {
            instruction = default;
            return false;
        }

        DecodeInRun(rva, at, out instruction);
        return true;
    }

    /// <summary>
    /// Where control goes from the instruction at <paramref name="rva"/> (see
    /// <see cref="InstructionFlow"/>), measured without Iced when it can be; false when no byte
    /// of it is in the file or it does not decode.
    /// </summary>
    public bool TryMeasureAt(uint rva, out InstructionFlow flow)
    {
        if (!TryRunAt(rva, out var at))
        {
            flow = default;
            return false;
        }

        if (InstructionFlow.TryMeasure(_run.AsSpan(at, Math.Min(_run.Count - at, MaxInstructionLength)), rva, out flow))
        {
            return true;
        }

        DecodeInRun(rva, at, out var instruction);
        flow = instruction.IsInvalid ? default : InstructionFlow.From(instruction);
        return !instruction.IsInvalid;
    }

    /// <summary>
    /// The <paramref name="length"/> file bytes at <paramref name="rva"/> when the run the cursor
    /// last read holds them all (in the same mapping): what a read at that address would give,
    /// without reading. False otherwise (the caller reads them itself).
    /// </summary>
    public bool TryPeek(uint rva, int length, out ReadOnlySpan<byte> bytes)
    {
        var offset = (long)rva - _runStart;
        if (offset >= 0 && length >= 0 && offset + length <= _runUsable)
        {
            bytes = _run.AsSpan((int)offset, length);
            return true;
        }

        bytes = default;
        return false;
    }

    // The instruction at `at` in the run (its bytes up to the architectural maximum).
    private void DecodeInRun(uint rva, int at, out Instruction instruction)
    {
        _bytes.Reset(_run.Array!, _run.Offset + at, Math.Min(_run.Count - at, MaxInstructionLength));
        _decoder.IP = rva;
        _decoder.Decode(out instruction);
    }

    // Makes the run hold the instruction at `rva` (at offset `at` in it).
    private bool TryRunAt(uint rva, out int at)
    {
        var offset = (long)rva - _runStart;
        if (offset < 0 || offset >= _runUsable || !(offset + MaxInstructionLength <= _run.Count || _runToEnd))
        {
            if (!_reader.Map.TryGetFileRun(rva, out var fileOffset, out var available, out var sameMapping))
            {
                _runUsable = 0;
                at = 0;
                return false;
            }

            _run = _reader.ReadSegmentAt(fileOffset, (int)Math.Min(available, RunBytes));
            _runStart = rva;
            _runUsable = Math.Min(sameMapping, _run.Count);
            _runToEnd = _run.Count == available;
            offset = 0;
            if (_run.Count == 0)
            {
                at = 0;
                return false;
            }
        }

        at = (int)offset;
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

    /// <summary>One instruction's bytes for Iced, which reads through a class (it cannot hold a span): a copy, or a place in an array the caller keeps; -1 past them, as Iced expects.</summary>
    private sealed class InstructionBytes : CodeReader
    {
        private readonly byte[] _copy = new byte[MaxInstructionLength];
        private byte[] _buffer = [];
        private int _position;
        private int _end;

        public void Reset(ReadOnlySpan<byte> code)
        {
            code.CopyTo(_copy);
            Reset(_copy, 0, code.Length);
        }

        public void Reset(byte[] buffer, int start, int length)
        {
            _buffer = buffer;
            _position = start;
            _end = start + length;
        }

        public override int ReadByte() => _position < _end ? _buffer[_position++] : -1;
    }
}
