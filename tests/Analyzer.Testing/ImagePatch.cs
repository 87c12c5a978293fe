using System.Buffers.Binary;
using System.Reflection.PortableExecutable;

namespace Pelint.Testing;

/// <summary>
/// Crafted variants of real binaries: a copy of the bytes with one header field changed. Field
/// offsets come from the PE/COFF specification, not from the code under test.
/// </summary>
public sealed class ImagePatch
{
    private ImagePatch(byte[] bytes)
    {
        Bytes = bytes;
        PeOffset = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(0x3C));
        CoffOffset = PeOffset + 4;
        OptionalOffset = CoffOffset + 20;
        Is64 = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(OptionalOffset)) == 0x20B;
        var optionalSize = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(CoffOffset + 16));
        SectionTableOffset = OptionalOffset + optionalSize;
        SectionCount = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(CoffOffset + 2));
    }

    public byte[] Bytes { get; }

    public int PeOffset { get; }

    public int CoffOffset { get; }

    public int OptionalOffset { get; }

    public bool Is64 { get; }

    public int SectionTableOffset { get; }

    public int SectionCount { get; }

    public int DllCharacteristicsOffset => OptionalOffset + 70;

    public int DataDirectoryOffset(int index) => OptionalOffset + (Is64 ? 112 : 96) + (index * 8);

    public static ImagePatch FromFile(string path) => new(File.ReadAllBytes(path));

    public static ImagePatch FromBytes(byte[] bytes) => new((byte[])bytes.Clone());

    public ImagePatch ClearDllCharacteristics(DllCharacteristics flags)
    {
        var value = BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(DllCharacteristicsOffset));
        BinaryPrimitives.WriteUInt16LittleEndian(Bytes.AsSpan(DllCharacteristicsOffset), (ushort)(value & ~(ushort)flags));
        return this;
    }

    public ImagePatch SetDllCharacteristics(DllCharacteristics flags)
    {
        var value = BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(DllCharacteristicsOffset));
        BinaryPrimitives.WriteUInt16LittleEndian(Bytes.AsSpan(DllCharacteristicsOffset), (ushort)(value | (ushort)flags));
        return this;
    }

    public ImagePatch SetCharacteristics(Characteristics flags)
    {
        var offset = CoffOffset + 18;
        var value = BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(offset));
        BinaryPrimitives.WriteUInt16LittleEndian(Bytes.AsSpan(offset), (ushort)(value | (ushort)flags));
        return this;
    }

    public (uint Rva, uint Size) GetDirectory(int index) =>
        (BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(DataDirectoryOffset(index))),
         BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(DataDirectoryOffset(index) + 4)));

    public ImagePatch SetDirectory(int index, uint rva, uint size)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(Bytes.AsSpan(DataDirectoryOffset(index)), rva);
        BinaryPrimitives.WriteUInt32LittleEndian(Bytes.AsSpan(DataDirectoryOffset(index) + 4), size);
        return this;
    }

    public int SectionHeaderOffset(int index) => SectionTableOffset + (index * 40);

    public int FindSection(string name)
    {
        for (var i = 0; i < SectionCount; i++)
        {
            var raw = Bytes.AsSpan(SectionHeaderOffset(i), 8);
            var end = raw.IndexOf((byte)0);
            if (System.Text.Encoding.ASCII.GetString(end < 0 ? raw : raw[..end]) == name)
            {
                return i;
            }
        }

        throw new InvalidOperationException($"no section {name}");
    }

    public ImagePatch OrSectionCharacteristics(string name, SectionCharacteristics flags)
    {
        var offset = SectionHeaderOffset(FindSection(name)) + 36;
        var value = BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(offset));
        BinaryPrimitives.WriteUInt32LittleEndian(Bytes.AsSpan(offset), value | (uint)flags);
        return this;
    }

    /// <summary>File offset of an RVA, from the section table as written (test-side, independent of RvaMap).</summary>
    public int FileOffsetOf(uint rva)
    {
        for (var i = 0; i < SectionCount; i++)
        {
            var h = SectionHeaderOffset(i);
            var va = BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(h + 12));
            var rawSize = BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(h + 16));
            var rawPtr = BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(h + 20));
            if (rva >= va && rva < va + rawSize)
            {
                return (int)(rawPtr + (rva - va));
            }
        }

        throw new InvalidOperationException($"RVA 0x{rva:X} is not in a section's raw data");
    }

    public ImagePatch WriteUInt32(int offset, uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(Bytes.AsSpan(offset), value);
        return this;
    }

    public ImagePatch WriteUInt16(int offset, ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(Bytes.AsSpan(offset), value);
        return this;
    }

    public string SaveTo(string directory, string fileName)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, fileName);
        File.WriteAllBytes(path, Bytes);
        return path;
    }
}
