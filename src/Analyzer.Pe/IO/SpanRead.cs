using System.Buffers.Binary;

namespace Pelint.Pe.IO;

/// <summary>Bounds-checked random-access reads at an offset of an untrusted span.</summary>
public static class SpanRead
{
    public static bool TryUInt16(ReadOnlySpan<byte> data, int offset, out ushort value)
    {
        if ((uint)offset > (uint)data.Length)
        {
            value = 0;
            return false;
        }

        return BinaryPrimitives.TryReadUInt16LittleEndian(data[offset..], out value);
    }

    public static bool TryUInt32(ReadOnlySpan<byte> data, int offset, out uint value)
    {
        if ((uint)offset > (uint)data.Length)
        {
            value = 0;
            return false;
        }

        return BinaryPrimitives.TryReadUInt32LittleEndian(data[offset..], out value);
    }

    public static bool TryUInt64(ReadOnlySpan<byte> data, int offset, out ulong value)
    {
        if ((uint)offset > (uint)data.Length)
        {
            value = 0;
            return false;
        }

        return BinaryPrimitives.TryReadUInt64LittleEndian(data[offset..], out value);
    }

    /// <summary>Reads a NUL-terminated ASCII string of at most <paramref name="maxLength"/> bytes.</summary>
    public static bool TryAsciiZ(ReadOnlySpan<byte> data, int offset, int maxLength, out string value)
    {
        value = string.Empty;
        if ((uint)offset >= (uint)data.Length)
        {
            return false;
        }

        var tail = data[offset..];
        if (tail.Length > maxLength)
        {
            tail = tail[..maxLength];
        }

        var end = tail.IndexOf((byte)0);
        if (end < 0)
        {
            return false;
        }

        foreach (var b in tail[..end])
        {
            if (b is < 0x20 or > 0x7E)
            {
                return false;
            }
        }

        value = System.Text.Encoding.ASCII.GetString(tail[..end]);
        return true;
    }
}
