using Iced.Intel;
using Pelint.Testing;

namespace Pelint.Pe.Tests.Code;

/// <summary>The cursor decodes from the run of code it last read: every instruction must still see the bytes a read at its own address gives.</summary>
public sealed class CodeCursorTests
{
    // 10-, 8-, 1- and 4-byte instructions (movabs rax, imm64; mov rax, [rsp+disp32]; nop; add rsp, 0x28):
    // a 23-byte cycle, so instructions straddle the ends of the cursor's 4 KiB runs.
    private static readonly byte[] Cycle = [0x48, 0xB8, 1, 2, 3, 4, 5, 6, 7, 8, 0x48, 0x8B, 0x84, 0x24, 0x10, 0, 0, 0, 0x90, 0x48, 0x83, 0xC4, 0x28];

    // Where each instruction of the cycle starts.
    private static readonly int[] CycleStarts = [0, 10, 18, 19];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Every_instruction_decodes_as_Iced_decodes_the_file_backed_bytes_at_its_address(bool fromFile)
    {
        // 0x3A00 bytes of code: 645 cycles and 13 bytes, so the section's data ends inside an instruction.
        var builder = new PeBuilder();
        var text = builder.AddCode(0x3A00);
        for (var k = 0; k < text.Data.Length; k++)
        {
            text.Data[k] = Cycle[k % Cycle.Length];
        }

        var starts = new List<int>();
        for (var offset = 0; offset < text.Data.Length; offset += Cycle.Length)
        {
            starts.AddRange(CycleStarts.Select(s => offset + s).Where(s => s < text.Data.Length));
        }

        var bytes = builder.Build();
        var path = Path.Combine(Path.GetTempPath(), $"pelint-cursor-{Guid.NewGuid():N}.exe");
        try
        {
            File.WriteAllBytes(path, bytes);
            using var image = (fromFile ? PeImage.Open(path) : PeImage.Load(bytes, "cursor")).Image!;
            using var cursor = image.Code.OpenCursor();

            // In order (runs read one after another), then in a shuffled order (runs read anywhere, backwards too).
            var shuffled = starts.ToArray();
            new Random(11).Shuffle(shuffled);
            foreach (var offset in starts.Concat(shuffled))
            {
                var expected = Expected(text.Data, offset, text.Rva);
                Assert.True(cursor.TryDecodeAt(text.Rva + (uint)offset, out var instruction));
                Assert.Equal((expected.Code, expected.Length), (instruction.Code, instruction.Length));
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Peeked_bytes_are_the_file_bytes_at_their_address_and_never_past_the_run()
    {
        var builder = new PeBuilder();
        var text = builder.AddCode(0x3A00);
        new Random(3).NextBytes(text.Data);
        using var image = PeImage.Load(builder.Build(), "peek").Image!;
        using var cursor = image.Code.OpenCursor();
        var (peeked, refused) = (0, 0);
        foreach (var offset in new[] { 0, 0x10, 0xFF0, 0x1FFE, 0x3000, 0x39F0, 0x120 })
        {
            cursor.TryDecodeAt(text.Rva + (uint)offset, out _);
            for (var k = -4; k < 0x1010; k += 3)
            {
                var at = offset + k;
                if (!cursor.TryPeek(text.Rva + (uint)at, 3, out var bytes))
                {
                    refused++;
                    continue;
                }

                // A peek is only ever of bytes in the file, and they are the file's.
                Assert.InRange(at, 0, text.Data.Length - 3);
                Assert.Equal(text.Data.AsSpan(at, 3).ToArray(), bytes.ToArray());
                peeked++;
            }
        }

        // Most of each run is peeked; before it and past it (its 4 KiB, the section's end) are refused.
        Assert.True(peeked > 5000 && refused > 1000, $"{peeked} peeked, {refused} refused");
    }

    [Fact]
    public void An_instruction_before_an_overlapping_section_decodes_from_its_own_section_and_the_next_one_from_the_overlapping_one()
    {
        // .text (listed first) is moved to 0x2800, inside .data at [0x2000, 0x4000): from 0x2800 on
        // the loader's first-match lookup finds .text, before it .data.
        var builder = new PeBuilder();
        var text = builder.AddCode(0x1000);
        var data = builder.AddSection(".data", System.Reflection.PortableExecutable.SectionCharacteristics.MemRead, 0x2000);
        Assert.Equal((0x1000u, 0x2000u), (text.Rva, data.Rva));
        Array.Fill(text.Data, (byte)0x90);
        Array.Fill(data.Data, (byte)0xCC);
        data.WriteBytes(0x27FE, [0x48, 0xB8, 1, 2, 3, 4, 5, 6, 7, 8]); // movabs rax, imm64 from .data's own bytes
        var patch = ImagePatch.FromBytes(builder.Build());
        patch.WriteUInt32(patch.SectionHeaderOffset(0) + 12, 0x2800);
        using var image = PeImage.Load(patch.Bytes, "overlap").Image!;

        Assert.True(image.Map.TryGetFileRun(0x2000, out _, out var available, out var sameMapping));
        Assert.Equal((0x2000L, 0x800L), (available, sameMapping));

        using var cursor = image.Code.OpenCursor();
        Assert.True(cursor.TryDecodeAt(0x2000, out var first));
        Assert.Equal(Iced.Intel.Code.Int3, first.Code);
        Assert.True(cursor.TryDecodeAt(0x27FE, out var straddling));
        Assert.Equal((Iced.Intel.Code.Mov_r64_imm64, 10), (straddling.Code, straddling.Length));
        Assert.True(cursor.TryDecodeAt(0x2800, out var overlapping));
        Assert.Equal(Iced.Intel.Code.Nopd, overlapping.Code);
    }

    // Iced over at most 15 bytes from the offset, ending where the section's data ends.
    private static Instruction Expected(byte[] data, int offset, uint rva)
    {
        var bytes = data.AsSpan(offset, Math.Min(15, data.Length - offset)).ToArray();
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(bytes), rva + (ulong)offset);
        decoder.Decode(out var instruction);
        return instruction;
    }
}
