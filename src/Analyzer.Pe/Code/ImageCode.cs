using System.Buffers;
using System.Reflection.PortableExecutable;
using Iced.Intel;

namespace Pelint.Pe.Code;

/// <summary>
/// Decodes instructions of the mapped image at an RVA, only as many bytes as the caller asks
/// for (one function, a few bytes at an entry), never a whole section.
/// </summary>
public sealed class ImageCode
{
    /// <summary>No function is decoded past this many bytes: a hostile .pdata entry can claim 4 GB.</summary>
    public const int MaxDecodeBytes = 1 << 20;

    private readonly PeImage _image;

    private ImageCode(PeImage image)
    {
        _image = image;
        Bitness = image.Machine == Machine.Amd64 ? 64 : 32;
    }

    public int Bitness { get; }

    public static ImageCode Of(PeImage image) => image.GetView(i => new ImageCode(i));

    /// <summary>
    /// Decodes [rva, rva+length) linearly; stops early where the file's bytes end. Instructions
    /// carry their RVA in <see cref="Instruction.IP"/>; undecodable bytes come back as
    /// <see cref="Code.INVALID"/> instructions, as the decoder reports them.
    /// </summary>
    public IReadOnlyList<Instruction> Decode(uint rva, int length)
    {
        var span = _image.Map.GetAvailableSpan(_image.Bytes, rva, Math.Clamp(length, 0, MaxDecodeBytes));
        if (span.IsEmpty)
        {
            return [];
        }

        var buffer = ArrayPool<byte>.Shared.Rent(span.Length);
        try
        {
            span.CopyTo(buffer);
            var reader = new BufferCodeReader(buffer, span.Length);
            var decoder = Decoder.Create(Bitness, reader, rva);
            var end = (ulong)rva + (uint)span.Length;
            var list = new List<Instruction>(Math.Min(span.Length / 3 + 1, 4096));
            while (decoder.IP < end)
            {
                decoder.Decode(out var instruction);
                list.Add(instruction);
            }

            return list;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The one instruction at <paramref name="rva"/>, or null when no byte is there.</summary>
    public Instruction? DecodeOne(uint rva)
    {
        // 15 bytes is the architectural maximum instruction length.
        var list = DecodeFirst(rva, 15);
        return list;
    }

    /// <summary>A decoder of this image's code for one loop on one thread (decoders are not thread-safe; each costs an allocation).</summary>
    public CodeCursor OpenCursor() => new(_image, Bitness);

    /// <summary>The file bytes at [rva, rva+length), or false when not all of them are in the file.</summary>
    public bool TryGetBytes(uint rva, int length, out ReadOnlySpan<byte> bytes) => _image.TryGetSpan(rva, length, out bytes);

    private Instruction? DecodeFirst(uint rva, int maxLength)
    {
        var span = _image.Map.GetAvailableSpan(_image.Bytes, rva, maxLength);
        if (span.IsEmpty)
        {
            return null;
        }

        return DecodeFirst(span, Bitness, rva);
    }

    /// <summary>Decodes the first instruction of <paramref name="bytes"/> (pure; for tests and rules).</summary>
    public static Instruction DecodeFirst(ReadOnlySpan<byte> bytes, int bitness, ulong ip)
    {
        var decoder = Decoder.Create(bitness, new BufferCodeReader(bytes[..Math.Min(bytes.Length, 15)].ToArray(), Math.Min(bytes.Length, 15)), ip);
        decoder.Decode(out var instruction);
        return instruction;
    }

    /// <summary>Decodes all of <paramref name="bytes"/> linearly (pure; for tests and golden files).</summary>
    public static IReadOnlyList<Instruction> DecodeAll(byte[] bytes, int bitness, ulong ip)
    {
        var decoder = Decoder.Create(bitness, new BufferCodeReader(bytes, bytes.Length), ip);
        var list = new List<Instruction>();
        var end = ip + (ulong)bytes.Length;
        while (decoder.IP < end)
        {
            decoder.Decode(out var instruction);
            list.Add(instruction);
        }

        return list;
    }

    /// <summary>A code reader over the first <c>length</c> bytes of a buffer; -1 past them.</summary>
    private sealed class BufferCodeReader(byte[] buffer, int length) : CodeReader
    {
        private int _position;

        public override int ReadByte() => _position < length ? buffer[_position++] : -1;
    }
}
