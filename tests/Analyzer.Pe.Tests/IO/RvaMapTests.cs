using System.Reflection.PortableExecutable;
using Pelint.Testing;

namespace Pelint.Pe.Tests.IO;

public sealed class RvaMapTests
{
    [Fact]
    public void Bytes_past_raw_data_read_as_zero_within_virtual_size()
    {
        var builder = new PeBuilder();
        var text = builder.AddSection(".data", SectionCharacteristics.MemRead | SectionCharacteristics.ContainsInitializedData, 0x200, virtualSize: 0x2000);
        text.Data[0x1FF] = 0xAB;
        using var image = PeImage.Load(builder.Build(), "zero-fill").Image!;
        using var reader = image.OpenReader();

        Span<byte> scratch = stackalloc byte[8];
        Assert.True(reader.TryRead(text.Rva + 0x1FC, 8, scratch, out var bytes));
        Assert.Equal(new byte[] { 0, 0, 0, 0xAB, 0, 0, 0, 0 }, bytes.ToArray());
        Assert.False(reader.TryGetSpan(text.Rva + 0x1FC, 8, out _));
        Assert.True(reader.TryRead(text.Rva + 0x1000, 4, scratch, out _));
        Assert.False(reader.TryRead(text.Rva + 0x2000, 4, scratch, out _));
    }

    [Fact]
    public void Raw_size_larger_than_virtual_size_is_cut_at_virtual_size()
    {
        var builder = new PeBuilder();
        var text = builder.AddSection(".text", SectionCharacteristics.MemRead | SectionCharacteristics.MemExecute, 0x400, virtualSize: 0x10);
        using var image = PeImage.Load(builder.Build(), "virtual-cut").Image!;
        using var reader = image.OpenReader();

        Assert.True(reader.TryGetSpan(text.Rva, 0x10, out _));
        Assert.False(reader.TryGetSpan(text.Rva, 0x11, out _));
        Assert.Null(image.Map.FindSection(text.Rva + 0x10));
    }

    [Fact]
    public void Rva_in_headers_maps_to_the_same_file_offset()
    {
        using var image = PeImage.Load(new PeBuilder().Build(), "headers").Image!;

        Assert.Equal(0x3CL, image.FileOffsetOf(0x3C));
    }

    [Fact]
    public void Section_whose_raw_data_lies_past_the_end_of_file_is_not_file_backed()
    {
        var builder = new PeBuilder();
        var text = builder.AddCode(0x200);
        var bytes = builder.Build();
        var patch = ImagePatch.FromBytes(bytes).WriteUInt32(ImagePatch.FromBytes(bytes).SectionHeaderOffset(0) + 20, 0x7FFF_0000);
        using var image = PeImage.Load(patch.Bytes, "lying-pointer").Image!;
        using var reader = image.OpenReader();

        Assert.False(reader.TryGetSpan(text.Rva, 1, out _));
        Assert.Null(image.FileOffsetOf(text.Rva));
    }
}
