using System.Buffers.Binary;

namespace Pelint.Pe.IO;

/// <summary>
/// Forward-only little-endian reader over untrusted bytes. Every read is bounds-checked and
/// reports failure instead of throwing, so a truncated structure becomes a problem, not a crash.
/// </summary>
public ref struct SpanReader
{
    private readonly ReadOnlySpan<byte> _data;

    public SpanReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        Position = 0;
    }

    public int Position { get; private set; }

    public readonly int Length => _data.Length;

    public readonly int Remaining => _data.Length - Position;

    public bool TrySeek(int position)
    {
        if ((uint)position > (uint)_data.Length)
        {
            return false;
        }

        Position = position;
        return true;
    }

    public bool TrySkip(int count) => count >= 0 && count <= Remaining && TrySeek(Position + count);

    public bool TryReadByte(out byte value)
    {
        if (Remaining < 1)
        {
            value = 0;
            return false;
        }

        value = _data[Position++];
        return true;
    }

    public bool TryReadUInt16(out ushort value)
    {
        if (!BinaryPrimitives.TryReadUInt16LittleEndian(_data[Position..], out value))
        {
            return false;
        }

        Position += 2;
        return true;
    }

    public bool TryReadUInt32(out uint value)
    {
        if (!BinaryPrimitives.TryReadUInt32LittleEndian(_data[Position..], out value))
        {
            return false;
        }

        Position += 4;
        return true;
    }

    public bool TryReadUInt64(out ulong value)
    {
        if (!BinaryPrimitives.TryReadUInt64LittleEndian(_data[Position..], out value))
        {
            return false;
        }

        Position += 8;
        return true;
    }

    public bool TryReadBytes(int count, out ReadOnlySpan<byte> bytes)
    {
        if (count < 0 || count > Remaining)
        {
            bytes = default;
            return false;
        }

        bytes = _data.Slice(Position, count);
        Position += count;
        return true;
    }
}

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
