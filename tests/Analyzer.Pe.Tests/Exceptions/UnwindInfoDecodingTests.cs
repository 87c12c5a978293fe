using Pelint.Pe.Exceptions;
using Pelint.Testing;

namespace Pelint.Pe.Tests.Exceptions;

/// <summary>
/// The bit-field traps of UNWIND_INFO (a popular PE library swaps these fields and its tests only
/// restate its code), each with bytes written from Microsoft's "x64 exception handling" page:
/// fields are allocated from the least significant bit.
/// </summary>
public sealed class UnwindInfoDecodingTests
{
    private static UnwindInfo Decode(params byte[] xdata) => Xdata.Decode(xdata);

    [Fact]
    public void Version_is_the_low_three_bits_and_flags_the_high_five()
    {
        // 0x19 = 0b00011_001: version 1, flags EHANDLER|UHANDLER.
        var info = Decode(0x19, 0x00, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12);

        Assert.Equal(1, info.Version);
        Assert.Equal(UnwindFlags.EHandler | UnwindFlags.UHandler, info.Flags);
        Assert.Equal(0x12345678u, info.HandlerRva);
    }

    [Fact]
    public void Frame_register_is_the_low_nibble_and_offset_the_high_nibble_times_16()
    {
        // byte 3 = 0x35: frame register 5 (rbp), offset 3 * 16.
        var info = Decode(0x01, 0x04, 0x01, 0x35, 0x04, 0x03, 0x00, 0x00);

        Assert.Equal(5, info.FrameRegister);
        Assert.Equal(48, info.FrameOffset);
        Assert.Equal(UnwindOp.SetFpreg, Assert.Single(info.Codes.ToArray()).Op);
    }

    [Fact]
    public void Unwind_op_is_the_low_nibble_and_op_info_the_high_nibble()
    {
        // 0x50: op 0 (PUSH_NONVOL), OpInfo 5 (rbp). 0x42: op 2 (ALLOC_SMALL), OpInfo 4 → 4*8+8 bytes.
        var info = Decode(0x01, 0x05, 0x02, 0x00, 0x05, 0x42, 0x01, 0x50);

        Assert.Collection(info.Codes.ToArray(),
            c => Assert.Equal((UnwindOp.AllocSmall, 40u, 5), (c.Op, c.Value, (int)c.CodeOffset)),
            c => Assert.Equal((UnwindOp.PushNonvol, 5), (c.Op, c.Register)));
    }

    [Fact]
    public void Handler_follows_the_code_array_padded_to_an_even_count()
    {
        // Three slots (PUSH_NONVOL + ALLOC_LARGE/0 with its 16-bit operand) padded to four: handler at 4 + 8.
        var info = Decode(0x09, 0x08, 0x03, 0x00, 0x08, 0x01, 0x20, 0x00, 0x01, 0x50, 0xEE, 0xEE, 0x00, 0x10, 0x00, 0x00);

        Assert.Equal(0x1000u, info.HandlerRva);
        Assert.Equal(0x100u, info.Codes[0].Value); // 0x20 * 8
    }

    [Fact]
    public void Version_2_epilog_codes_take_one_slot_each_and_come_first()
    {
        // EPILOG size 3 at the end (OpInfo 1), one more 0x0C back from the end, one padding code, then PUSH_NONVOL rsi.
        var info = Decode(0x02, 0x02, 0x04, 0x00, 0x03, 0x16, 0x0C, 0x06, 0x00, 0x06, 0x02, 0x60);

        var epilogs = info.Epilogs!.Value;
        Assert.Equal((3, true, 1), (epilogs.Size, epilogs.AtEnd, epilogs.PaddingCodes));
        Assert.Equal([0x0C], epilogs.OffsetsFromEnd.ToArray());
        Assert.Equal(UnwindOp.PushNonvol, Assert.Single(info.Codes.ToArray()).Op);
        Assert.Equal(6, info.Codes[0].Register);
    }

    [Fact]
    public void Chaininfo_carries_the_parent_runtime_function_after_the_codes()
    {
        var info = Decode(0x21, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x20, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00);

        Assert.True(info.IsChained);
        Assert.Equal((0x1000u, 0x1020u, 0x100u), (info.Chained!.Value.BeginAddress, info.Chained.Value.EndAddress, info.Chained.Value.UnwindData));
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x04)]
    [InlineData(0x07)]
    public void Version_other_than_1_2_or_3_is_a_problem_not_a_guess(byte version)
    {
        var info = Decode(version, 0x00, 0x02, 0x00, 0x00, 0x50, 0x00, 0x50);

        Assert.Equal(ProblemCode.UnwindBadVersion, Assert.Single(info.Problems.ToArray()).Code);
        Assert.Empty(info.Codes.ToArray());
    }

    [Fact]
    public void Version_3_is_valid_and_not_decoded()
    {
        // APX unwind info: a 4-byte header and a payload of its own (not UNWIND_CODEs).
        // Byte 0 = 3 | CHAININFO << 3: the chain lives in the payload, so it is not read as one here.
        var info = Decode(0x23, 0x05, 0x02, 0x00, 0x12, 0x34, 0x56, 0x78);

        Assert.True(info.Problems.IsEmpty);
        Assert.Equal(3, info.Version);
        Assert.False(info.IsDecoded);
        Assert.False(info.IsChained);
        Assert.False(info.HasHandler);
        Assert.True(info.Codes.IsEmpty);
    }

    [Fact]
    public void A_record_without_codes_may_end_where_its_section_ends()
    {
        // mingw puts 4-byte records (version 1, no codes) at the very end of .xdata.
        var builder = new PeBuilder();
        var text = builder.AddCode(0x200);
        text.WriteBytes(text.Rva, [0xC3]);
        var xdata = builder.AddSection(".xdata", System.Reflection.PortableExecutable.SectionCharacteristics.ContainsInitializedData | System.Reflection.PortableExecutable.SectionCharacteristics.MemRead, 0x200, virtualSize: 0x10);
        xdata.WriteBytes(xdata.Rva + 0x0C, [0x01, 0x00, 0x00, 0x00]);
        using var image = PeImage.Load(builder.Build(), "end.dll").Image!;

        var info = UnwindInfo.Read(image, xdata.Rva + 0x0C);

        Assert.True(info.Problems.IsEmpty);
        Assert.Equal(0, info.CountOfCodes);
    }
}
