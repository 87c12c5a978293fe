using System.Buffers.Binary;
using System.Reflection.PortableExecutable;
using System.Text;

namespace Pelint.Testing;

/// <summary>
/// Writes small synthetic PE images for tests, laid out by the PE/COFF specification: DOS stub
/// header, PE signature, COFF header, optional header (PE32 or PE32+) with 16 data directories,
/// section table, then each section's raw data. Sections are placed at increasing RVAs as they
/// are added, so their RVAs are known before their contents are written.
/// </summary>
public sealed class PeBuilder
{
    public const uint SectionAlignment = 0x1000;
    public const uint FileAlignment = 0x200;
    public const uint HeadersSize = 0x400;

    private readonly List<Section> _sections = [];
    private readonly (uint Rva, uint Size)[] _directories = new (uint, uint)[16];
    private uint _nextRva = SectionAlignment;

    public PeBuilder(Machine machine = Machine.Amd64)
    {
        Machine = machine;
        Is64 = machine is Machine.Amd64 or Machine.Arm64 or Machine.IA64;
        ImageBase = Is64 ? 0x1_4000_0000UL : 0x40_0000UL;
    }

    public Machine Machine { get; }

    public bool Is64 { get; set; }

    public ulong ImageBase { get; set; }

    public uint EntryPoint { get; set; }

    public Characteristics Characteristics { get; set; } = Characteristics.ExecutableImage | Characteristics.LargeAddressAware;

    public DllCharacteristics DllCharacteristics { get; set; } =
        DllCharacteristics.DynamicBase | DllCharacteristics.NxCompatible | DllCharacteristics.HighEntropyVirtualAddressSpace | DllCharacteristics.TerminalServerAware;

    public IReadOnlyList<Section> Sections => _sections;

    /// <summary>Adds a section of <paramref name="size"/> bytes (raw and virtual) at the next aligned RVA.</summary>
    public Section AddSection(string name, SectionCharacteristics characteristics, int size, uint? virtualSize = null)
    {
        var section = new Section(name, characteristics, _nextRva, new byte[size], virtualSize ?? (uint)size);
        _sections.Add(section);
        _nextRva += Align(Math.Max(section.VirtualSize, (uint)size), SectionAlignment);
        return section;
    }

    public Section AddCode(int size) => AddSection(".text", SectionCharacteristics.ContainsCode | SectionCharacteristics.MemExecute | SectionCharacteristics.MemRead, size);

    public Section AddReadOnlyData(string name, int size) => AddSection(name, SectionCharacteristics.ContainsInitializedData | SectionCharacteristics.MemRead, size);

    public PeBuilder SetDirectory(int index, uint rva, uint size)
    {
        _directories[index] = (rva, size);
        return this;
    }

    public byte[] Build()
    {
        var optionalSize = Is64 ? 240 : 224;
        var sectionTable = 0x80 + 4 + 20 + optionalSize;
        if (sectionTable + (_sections.Count * 40) > HeadersSize)
        {
            throw new InvalidOperationException("too many sections for the header area");
        }

        var rawOffsets = new List<uint>();
        var fileSize = HeadersSize;
        foreach (var s in _sections)
        {
            rawOffsets.Add(fileSize);
            fileSize += Align((uint)s.Data.Length, FileAlignment);
        }

        var image = new byte[fileSize];
        var span = image.AsSpan();
        span[0] = (byte)'M';
        span[1] = (byte)'Z';
        BinaryPrimitives.WriteUInt32LittleEndian(span[0x3C..], 0x80);
        Encoding.ASCII.GetBytes("PE\0\0").CopyTo(span[0x80..]);
        var coff = span[0x84..];
        BinaryPrimitives.WriteUInt16LittleEndian(coff, (ushort)Machine);
        BinaryPrimitives.WriteUInt16LittleEndian(coff[2..], (ushort)_sections.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(coff[16..], (ushort)optionalSize);
        BinaryPrimitives.WriteUInt16LittleEndian(coff[18..], (ushort)Characteristics);

        var opt = span[(0x84 + 20)..];
        BinaryPrimitives.WriteUInt16LittleEndian(opt, (ushort)(Is64 ? 0x20B : 0x10B));
        opt[2] = 14;
        var codeSize = _sections.Where(s => (s.Characteristics & SectionCharacteristics.ContainsCode) != 0).Sum(s => Align((uint)s.Data.Length, FileAlignment));
        BinaryPrimitives.WriteUInt32LittleEndian(opt[4..], (uint)codeSize);
        BinaryPrimitives.WriteUInt32LittleEndian(opt[16..], EntryPoint);
        BinaryPrimitives.WriteUInt32LittleEndian(opt[20..], _sections.FirstOrDefault()?.Rva ?? 0);
        if (Is64)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(opt[24..], ImageBase);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(opt[28..], (uint)ImageBase);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(opt[32..], SectionAlignment);
        BinaryPrimitives.WriteUInt32LittleEndian(opt[36..], FileAlignment);
        BinaryPrimitives.WriteUInt16LittleEndian(opt[40..], 6);
        BinaryPrimitives.WriteUInt16LittleEndian(opt[48..], 6);
        BinaryPrimitives.WriteUInt32LittleEndian(opt[56..], _nextRva);
        BinaryPrimitives.WriteUInt32LittleEndian(opt[60..], HeadersSize);
        BinaryPrimitives.WriteUInt16LittleEndian(opt[68..], 3);
        BinaryPrimitives.WriteUInt16LittleEndian(opt[70..], (ushort)DllCharacteristics);
        var sizesStart = 72;
        var width = Is64 ? 8 : 4;
        BinaryPrimitives.WriteUInt32LittleEndian(opt[sizesStart..], 0x100000);
        BinaryPrimitives.WriteUInt32LittleEndian(opt[(sizesStart + width)..], 0x1000);
        BinaryPrimitives.WriteUInt32LittleEndian(opt[(sizesStart + (2 * width))..], 0x100000);
        BinaryPrimitives.WriteUInt32LittleEndian(opt[(sizesStart + (3 * width))..], 0x1000);
        var numberOfRva = Is64 ? 108 : 92;
        BinaryPrimitives.WriteUInt32LittleEndian(opt[numberOfRva..], 16);
        for (var i = 0; i < 16; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(opt[(numberOfRva + 4 + (i * 8))..], _directories[i].Rva);
            BinaryPrimitives.WriteUInt32LittleEndian(opt[(numberOfRva + 8 + (i * 8))..], _directories[i].Size);
        }

        for (var i = 0; i < _sections.Count; i++)
        {
            var s = _sections[i];
            var h = span[(sectionTable + (i * 40))..];
            Encoding.ASCII.GetBytes(s.Name.Length > 8 ? s.Name[..8] : s.Name).CopyTo(h);
            BinaryPrimitives.WriteUInt32LittleEndian(h[8..], s.VirtualSize);
            BinaryPrimitives.WriteUInt32LittleEndian(h[12..], s.Rva);
            BinaryPrimitives.WriteUInt32LittleEndian(h[16..], Align((uint)s.Data.Length, FileAlignment));
            BinaryPrimitives.WriteUInt32LittleEndian(h[20..], s.Data.Length == 0 ? 0 : rawOffsets[i]);
            BinaryPrimitives.WriteUInt32LittleEndian(h[36..], (uint)s.Characteristics);
            s.Data.CopyTo(span[(int)rawOffsets[i]..]);
        }

        return image;
    }

    public static uint Align(uint value, uint alignment) => (value + alignment - 1) & ~(alignment - 1);

    /// <summary>A section being built; write its bytes through <see cref="Data"/> at offsets from <see cref="Rva"/>.</summary>
    public sealed class Section(string name, SectionCharacteristics characteristics, uint rva, byte[] data, uint virtualSize)
    {
        public string Name { get; } = name;

        public SectionCharacteristics Characteristics { get; } = characteristics;

        public uint Rva { get; } = rva;

        public byte[] Data { get; } = data;

        public uint VirtualSize { get; } = virtualSize;

        public void WriteUInt32(uint rva, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(Data.AsSpan((int)(rva - Rva)), value);

        public void WriteUInt16(uint rva, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(Data.AsSpan((int)(rva - Rva)), value);

        public void WriteBytes(uint rva, ReadOnlySpan<byte> bytes) => bytes.CopyTo(Data.AsSpan((int)(rva - Rva)));
    }
}
