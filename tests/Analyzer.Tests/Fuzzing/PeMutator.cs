using System.Buffers.Binary;

namespace Pelint.Tests.Fuzzing;

/// <summary>
/// A deterministic, structure-aware mutator for PE images. It finds the fields worth attacking
/// with its own minimal parsing (PE/COFF spec offsets, independent of pelint's readers) and
/// overwrites them with boundary values, flips bits, truncates, or splices bytes from another
/// seed. The same (seed bytes, mutant number) always gives the same mutant.
/// </summary>
internal static class PeMutator
{
    private static readonly uint[] Boundaries =
    [
        0, 1, 2, 3, 4, 7, 8, 11, 12, 13, 0x10, 0xFF, 0x100, 0xFFF, 0x1000, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
        0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFF0, 0xFFFF_FFFE, 0xFFFF_FFFF,
    ];

    public static byte[] Mutate(byte[] seed, byte[] other, int mutant)
    {
        var random = new Random(HashCode.Combine(seed.Length, mutant, 0x5EED));
        var bytes = (byte[])seed.Clone();
        var rounds = 1 + random.Next(4);
        for (var i = 0; i < rounds; i++)
        {
            bytes = random.Next(12) switch
            {
                0 => FlipBits(bytes, random),
                1 => Truncate(bytes, random),
                2 => Splice(bytes, other, random),
                3 or 4 => HeaderField(bytes, random),
                5 or 6 => DataDirectory(bytes, random),
                7 or 8 => RuntimeFunctionField(bytes, random),
                9 or 10 => UnwindInfoBytes(bytes, random),
                _ => SectionHeaderField(bytes, random),
            };
        }

        return bytes;
    }

    private static byte[] FlipBits(byte[] b, Random r)
    {
        if (b.Length == 0)
        {
            return b;
        }

        for (var n = r.Next(1, 16); n > 0; n--)
        {
            b[r.Next(b.Length)] ^= (byte)(1 << r.Next(8));
        }

        return b;
    }

    private static byte[] Truncate(byte[] b, Random r) => b.Length < 2 ? b : b.AsSpan(0, r.Next(b.Length)).ToArray();

    private static byte[] Splice(byte[] b, byte[] other, Random r)
    {
        if (b.Length == 0 || other.Length == 0)
        {
            return b;
        }

        var length = Math.Min(r.Next(1, 512), Math.Min(b.Length, other.Length));
        other.AsSpan(r.Next(other.Length - length + 1), length).CopyTo(b.AsSpan(r.Next(b.Length - length + 1)));
        return b;
    }

    private static void Write32(byte[] b, int offset, uint value)
    {
        if (offset >= 0 && offset + 4 <= b.Length)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(offset), value);
        }
    }

    private static uint Boundary(Random r, uint around) =>
        r.Next(3) == 0 ? around + (uint)r.Next(-16, 17) : Boundaries[r.Next(Boundaries.Length)];

    // Earlier rounds may have made e_lfanew absurd; -1 sends the strategies to plain bit flips.
    private static int PeOffset(byte[] b)
    {
        var pe = b.Length >= 0x40 ? BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(0x3C)) : -1;
        return pe >= 0 && pe <= b.Length - 0x108 ? pe : -1;
    }

    private static byte[] HeaderField(byte[] b, Random r)
    {
        var pe = PeOffset(b);
        if (pe < 0 || pe + 0x60 > b.Length)
        {
            return FlipBits(b, r);
        }

        // e_lfanew, NumberOfSections, SizeOfOptionalHeader, SizeOfImage, SizeOfHeaders, NumberOfRvaAndSizes...
        int[] fields = [0x3C, pe + 6, pe + 20, pe + 24 + 56, pe + 24 + 60, pe + 24 + 32, pe + 24 + 36, pe + 24 + 92, pe + 24 + 108, pe + 24 + 70];
        var field = fields[r.Next(fields.Length)];
        if (field == pe + 6 || field == pe + 20 || field == pe + 24 + 70)
        {
            if (field + 2 <= b.Length)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(field), (ushort)Boundary(r, 0));
            }
        }
        else
        {
            Write32(b, field, Boundary(r, 0));
        }

        return b;
    }

    private static int DirectoryOffset(byte[] b, int index)
    {
        var pe = PeOffset(b);
        if (pe < 0 || pe + 26 > b.Length)
        {
            return -1;
        }

        var is64 = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(pe + 24)) == 0x20B;
        return pe + 24 + (is64 ? 112 : 96) + (index * 8);
    }

    private static byte[] DataDirectory(byte[] b, Random r)
    {
        var offset = DirectoryOffset(b, r.Next(16));
        var current = offset >= 0 && offset + 8 <= b.Length ? BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(offset)) : 0;
        Write32(b, offset + (r.Next(2) * 4), Boundary(r, current));
        return b;
    }

    /// <summary>File offset of an RVA from the raw section table (or -1).</summary>
    private static int FileOffset(byte[] b, uint rva)
    {
        var pe = PeOffset(b);
        if (pe < 0 || pe + 24 > b.Length)
        {
            return -1;
        }

        var count = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(pe + 6));
        var table = pe + 24 + BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(pe + 20));
        for (var i = 0; i < Math.Min((int)count, 96); i++)
        {
            var h = table + (i * 40);
            if (h + 40 > b.Length)
            {
                break;
            }

            var va = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(h + 12));
            var raw = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(h + 16));
            var pointer = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(h + 20));
            if (rva >= va && rva - va < raw)
            {
                var offset = (long)pointer + (rva - va);
                return offset < b.Length ? (int)offset : -1;
            }
        }

        return -1;
    }

    private static (int Offset, int Count) Pdata(byte[] b)
    {
        var dir = DirectoryOffset(b, 3);
        if (dir < 0 || dir + 8 > b.Length)
        {
            return (-1, 0);
        }

        var offset = FileOffset(b, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(dir)));
        var count = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(dir + 4)) / 12, 1_000_000);
        return offset < 0 ? (-1, 0) : (offset, count);
    }

    private static byte[] RuntimeFunctionField(byte[] b, Random r)
    {
        var (pdata, count) = Pdata(b);
        if (pdata < 0 || count == 0)
        {
            return DataDirectory(b, r);
        }

        var field = (long)pdata + ((long)r.Next(count) * 12) + (r.Next(3) * 4);
        if (field + 4 > b.Length)
        {
            return b;
        }

        var current = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)field));
        var dirRva = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(DirectoryOffset(b, 3)));
        var value = r.Next(4) switch
        {
            0 => current | 1,                                                  // low-bit chaining
            1 => (dirRva + (uint)(r.Next(count) * 12) + (uint)r.Next(13)) | 1, // to an entry, or into one
            _ => Boundary(r, current),
        };
        Write32(b, (int)field, value);
        return b;
    }

    private static byte[] UnwindInfoBytes(byte[] b, Random r)
    {
        var (pdata, count) = Pdata(b);
        if (pdata < 0 || count == 0)
        {
            return FlipBits(b, r);
        }

        var entry = (long)pdata + ((long)r.Next(count) * 12);
        if (entry + 12 > b.Length)
        {
            return b;
        }

        var info = FileOffset(b, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)entry + 8)) & ~1u);
        if (info < 0 || info + 4 > b.Length)
        {
            return b;
        }

        switch (r.Next(5))
        {
            case 0: // version / flags byte: chain, handler, both, bad versions
                b[info] = (byte)r.Next(256);
                break;
            case 1: // SizeOfProlog, CountOfCodes, frame register/offset
                b[info + 1 + r.Next(3)] = (byte)Boundary(r, 0);
                break;
            case 2: // an unwind code's op/info byte
                var codes = b[info + 2];
                if (codes > 0 && info + 4 + (codes * 2) <= b.Length)
                {
                    b[info + 4 + (r.Next(codes) * 2) + 1] = (byte)r.Next(256);
                }

                break;
            default: // what follows the codes: handler RVA, scope count, records, or the chained entry
                var tail = info + 4 + (((b[info + 2] + 1) & ~1) * 2) + (r.Next(8) * 4);
                Write32(b, tail, Boundary(r, 0));
                break;
        }

        return b;
    }

    private static byte[] SectionHeaderField(byte[] b, Random r)
    {
        var pe = PeOffset(b);
        if (pe < 0 || pe + 24 > b.Length)
        {
            return FlipBits(b, r);
        }

        var count = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(pe + 6));
        var table = pe + 24 + BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(pe + 20));
        if (count == 0)
        {
            return b;
        }

        var header = table + (r.Next(Math.Min((int)count, 96)) * 40);
        var field = header + 8 + (r.Next(5) * 4); // VirtualSize, VirtualAddress, SizeOfRawData, PointerToRawData, PointerToRelocations
        Write32(b, field, Boundary(r, 0));
        return b;
    }
}
