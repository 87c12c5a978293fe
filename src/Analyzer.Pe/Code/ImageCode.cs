using System.Reflection.PortableExecutable;
using Iced.Intel;

namespace Pelint.Pe.Code;

/// <summary>
/// The Iced bridge of an image: cursors that decode its code one instruction at a time, from
/// windows of the file (see <see cref="IO.ImageReader"/>), never a whole section.
/// </summary>
public sealed class ImageCode
{
    /// <summary>No function is decoded past this many bytes: a hostile .pdata entry can claim 4 GB.</summary>
    public const int MaxDecodeBytes = 1 << 20;

    private readonly PeImage _image;

    internal ImageCode(PeImage image)
    {
        _image = image;
        Bitness = image.Machine == Machine.Amd64 ? 64 : 32;
    }

    public int Bitness { get; }

    /// <summary>A decoder of this image's code for one loop on one thread (decoders are not thread-safe; each costs an allocation). Dispose it to return its reader's window.</summary>
    public CodeCursor OpenCursor() => new(_image, Bitness);

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
