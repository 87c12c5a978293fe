using Pelint.Pe;
using Pelint.Pe.Exceptions;

namespace Pelint.Tests.Exceptions;

/// <summary>UNWIND_INFO decoding traps (DESIGN.md), with bytes written from Microsoft's "x64 exception handling".</summary>
public sealed class UnwindDecodingTests
{
    private static (ExceptionDirectory Directory, PeImage Image) Open(UnwindImage u)
    {
        var opened = PeImage.Load(u.Build(), "unwind.dll");
        Assert.True(opened.Success, opened.Reason);
        return (ExceptionDirectory.Of(opened.Image!), opened.Image!);
    }

    private static UnwindInfo Decode(params byte[] info)
    {
        var u = new UnwindImage();
        u.Entry(0x1000, 0x1100, u.Info(info));
        var (d, _) = Open(u);
        return d.GetUnwindInfo(d.Functions[0]);
    }

    [Fact]
    public void Version_is_the_low_three_bits_and_flags_the_high_five()
    {
        // 0x0A = 0b00001_010: version 2, flags 1 (EHANDLER). Swapped fields would read version 1/flags 2.
        var info = Decode(0x0A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x34, 0x12, 0x00, 0x00);
        Assert.Equal(2, info.Version);
        Assert.Equal(UnwindFlags.EHandler, info.Flags);
    }

    [Fact]
    public void Frame_register_is_the_low_nibble_of_byte_3_and_the_offset_the_high_nibble_times_16()
    {
        // byte3 = 0x25: register 5 (rbp), offset 2*16; codes: 04 03 = SET_FPREG at offset 4.
        var info = Decode(0x01, 0x04, 0x01, 0x25, 0x04, 0x03, 0x00, 0x00);
        Assert.Equal(5, info.FrameRegister);
        Assert.Equal("rbp", info.FrameRegisterName);
        Assert.Equal(32, info.FrameOffset);
        Assert.Empty(info.Problems);
    }

    [Fact]
    public void Unwind_op_is_the_low_nibble_of_the_second_byte()
    {
        // 04 42: CodeOffset 4, op 2 (ALLOC_SMALL), OpInfo 4 -> 4*8+8 = 0x28. Swapped would be op 4.
        var info = Decode(0x01, 0x04, 0x01, 0x00, 0x04, 0x42, 0x00, 0x00);
        var code = Assert.Single(info.Codes);
        Assert.Equal(UnwindOp.AllocSmall, code.Op);
        Assert.Equal(0x28u, code.Size);
    }

    [Fact]
    public void Handler_rva_follows_the_code_array_padded_to_an_even_count()
    {
        // One code (2 bytes) + 2 bytes padding, then the handler RVA 0x1234 at offset 8, not 6.
        var info = Decode(0x09, 0x02, 0x01, 0x00, 0x02, 0x50, 0xEE, 0xEE, 0x34, 0x12, 0x00, 0x00);
        Assert.Equal(0x1234u, info.HandlerRva);
        Assert.Equal(info.Rva + 12, info.LanguageDataRva);
    }

    [Fact]
    public void Alloc_large_and_save_ops_take_their_documented_slot_counts_and_scaling()
    {
        // ALLOC_LARGE info 0: next slot * 8; ALLOC_LARGE info 1: next two slots; SAVE_NONVOL: *8; SAVE_XMM128: *16.
        var info = Decode(
            0x01, 0x20, 0x09, 0x00,
            0x20, 0x01, 0x10, 0x00,              // ALLOC_LARGE/0 size 0x10*8 = 0x80
            0x18, 0x11, 0x00, 0x00, 0x01, 0x00,  // ALLOC_LARGE/1 size 0x10000
            0x10, 0x34, 0x05, 0x00,              // SAVE_NONVOL rbx at 5*8
            0x08, 0x68, 0x02, 0x00,              // SAVE_XMM128 xmm6 at 2*16
            0x00, 0x00);
        Assert.Collection(
            info.Codes,
            c => Assert.Equal((UnwindOp.AllocLarge, 2, 0x80u), (c.Op, c.SlotCount, c.Size!.Value)),
            c => Assert.Equal((UnwindOp.AllocLarge, 3, 0x10000u), (c.Op, c.SlotCount, c.Size!.Value)),
            c => Assert.Equal((UnwindOp.SaveNonvol, "rbx", 40u), (c.Op, c.RegisterName!, c.StackOffset!.Value)),
            c => Assert.Equal((UnwindOp.SaveXmm128, "xmm6", 32u), (c.Op, c.RegisterName!, c.StackOffset!.Value)));
        Assert.Empty(info.Problems);
    }

    [Fact]
    public void Version_2_epilog_codes_take_one_slot_and_give_size_and_offsets_from_the_end()
    {
        // Function 0x1000-0x1100. EPILOG size 3 with OpInfo bit 0 (one at the end), EPILOG offset
        // 0x40 back from the end, one padding EPILOG, then PUSH_NONVOL rbp at 1: 4 codes.
        var info = Decode(0x02, 0x01, 0x04, 0x00, 0x03, 0x16, 0x40, 0x06, 0x00, 0x06, 0x01, 0x50);
        Assert.Equal(2, info.Version);
        Assert.Equal(new[] { new EpilogDescriptor(0x10FD, 3, 3), new EpilogDescriptor(0x10C0, 3, 0x40) }, info.Epilogs);
        Assert.Equal(1, info.EpilogPadding);
        var push = Assert.Single(info.Codes);
        Assert.Equal((UnwindOp.PushNonvol, "rbp"), (push.Op, push.RegisterName!));
        Assert.Empty(info.Problems);
    }

    [Fact]
    public void Op_6_in_a_version_1_record_is_the_obsolete_save_xmm_and_a_problem()
    {
        var info = Decode(0x01, 0x04, 0x02, 0x00, 0x04, 0x06, 0x02, 0x00);
        Assert.Contains(info.Problems, p => p.Code == "obsolete-save-xmm");
    }

    [Fact]
    public void Spare_op_is_reported_and_decoding_stops_without_guessing_its_size()
    {
        var info = Decode(0x01, 0x08, 0x04, 0x00, 0x08, 0x07, 0x04, 0x42, 0x02, 0x50, 0x01, 0x50);
        Assert.Contains(info.Problems, p => p.Code == "unknown-op");
        Assert.Single(info.Codes);
    }

    [Fact]
    public void Chaininfo_with_a_handler_flag_is_a_problem()
    {
        var info = Decode(0x01 | (5 << 3), 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        Assert.Contains(info.Problems, p => p.Code == "flags");
    }

    [Fact]
    public void Chain_cycle_stops_with_a_cycle_and_the_whole_path()
    {
        var u = new UnwindImage();
        // Entries 0 and 1 are chained to each other: A -> B -> A.
        var a = u.ChainedInfo(0x1010, 0x1020, RDataPlaceholder);
        var b = u.ChainedInfo(0x1000, 0x1010, a);
        u.Entry(0x1000, 0x1010, a);
        u.Entry(0x1010, 0x1020, b);
        u.Data32(a + 12, b); // now that b exists, point A's chained entry at it
        var (d, _) = Open(u);
        var walk = d.WalkChain(d.Functions[0]);
        Assert.Equal(ChainProblem.Cycle, walk.Problem);
        Assert.Equal(new uint[] { 0x1000, 0x1010, 0x1000 }, walk.Path.Select(p => p.BeginAddress));
    }

    [Fact]
    public void Low_bit_entry_resolves_to_the_entry_it_names()
    {
        var u = new UnwindImage();
        u.Entry(0x1000, 0x1010, u.SimpleInfo());
        u.Entry(0x1010, 0x1020, UnwindImage.EntryRva(0) | 1);
        var (d, _) = Open(u);
        var walk = d.ResolveIndirect(d.Functions[1]);
        Assert.True(walk.IsComplete);
        Assert.Equal(0x1000u, walk.End.BeginAddress);
        Assert.Equal(d.Functions[1], d.FindContaining(0x1015));
    }

    private const uint RDataPlaceholder = 0;
}
