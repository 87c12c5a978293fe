using System.Buffers.Binary;
using Pelint.Testing;

namespace Pelint.Pe.Tests;

/// <summary>The section table is where the loader reads it: right after SizeOfOptionalHeader bytes of optional header.</summary>
public sealed class SectionTableTests
{
    [Fact]
    public void Sections_follow_a_short_optional_header_with_six_data_directories()
    {
        // As hand-made EFI headers do (memtest86+): NumberOfRvaAndSizes 6, SizeOfOptionalHeader
        // 112 + 6 * 8 = 0xA0, and the section table right after those 0xA0 bytes.
        var builder = new PeBuilder();
        builder.AddCode(0x200);
        builder.AddReadOnlyData(".reloc", 0x200);
        var patch = ImagePatch.FromBytes(builder.Build());
        var bytes = patch.Bytes;
        var table = patch.SectionTableOffset;
        var shortTable = patch.OptionalOffset + 0xA0;
        bytes.AsSpan(table, 2 * 40).CopyTo(bytes.AsSpan(shortTable));
        bytes.AsSpan(shortTable + (2 * 40), table - shortTable).Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(patch.CoffOffset + 16), 0xA0);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(patch.OptionalOffset + 108), 6);

        using var image = PeImage.Load(bytes, "efi").Image!;

        Assert.Equal([".text", ".reloc"], image.Sections.Select(s => s.Name));
        Assert.Equal(0x2000u, image.Sections[1].VirtualAddress);
        Assert.Equal(shortTable + 40, image.Sections[1].HeaderFileOffset);
        Assert.True(image.Map.TryGetFileOffset(0x2000, out _, out _));
        Assert.Empty(image.HeaderProblems);
    }

    [Fact]
    public void Sections_follow_a_long_optional_header()
    {
        // SizeOfOptionalHeader 0x110 (0x20 bytes more than a PE32+ header needs): the table follows.
        var builder = new PeBuilder();
        builder.AddCode(0x200);
        var patch = ImagePatch.FromBytes(builder.Build());
        var bytes = patch.Bytes;
        var table = patch.SectionTableOffset;
        bytes.AsSpan(table, 40).CopyTo(bytes.AsSpan(table + 0x20));
        bytes.AsSpan(table, 0x20).Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(patch.CoffOffset + 16), 0x110);

        using var image = PeImage.Load(bytes, "long").Image!;

        Assert.Equal(".text", Assert.Single(image.Sections).Name);
        Assert.Equal(table + 0x20, image.Sections[0].HeaderFileOffset);
    }

    [Fact]
    public void A_section_table_past_the_end_of_the_file_is_a_header_problem_not_a_crash()
    {
        var builder = new PeBuilder();
        builder.AddCode(0x200);
        var patch = ImagePatch.FromBytes(builder.Build());
        var bytes = patch.Bytes;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(patch.CoffOffset + 16), 0xFFF0);

        var opened = PeImage.Load(bytes, "far");

        Assert.True(opened.Success, opened.Reason);
        using var image = opened.Image!;
        Assert.Empty(image.Sections);
        Assert.Contains(image.HeaderProblems, p => p.Code == ProblemCode.SectionTableTruncated);
    }
}
