using Pelint.Pe.Exceptions;

namespace Pelint.Pe.Tests.Exceptions;

/// <summary>
/// Slot counts and operand scaling of every UWOP, and the ops that must be reported rather than
/// guessed; bytes written from Microsoft's "x64 exception handling" (struct UNWIND_CODE).
/// </summary>
public sealed class UnwindOperandDecodingTests
{
    private static UnwindInfo Decode(params byte[] xdata) => Xdata.Decode(xdata);

    [Fact]
    public void Alloc_large_with_op_info_1_takes_three_slots_and_an_unscaled_32_bit_size()
    {
        // 08 11: ALLOC_LARGE, OpInfo 1; operand slots 0x0000, 0x0001 -> 0x00010000 bytes. Then PUSH_NONVOL rbp at 1.
        var info = Decode(0x01, 0x08, 0x04, 0x00, 0x08, 0x11, 0x00, 0x00, 0x01, 0x00, 0x01, 0x50);

        Assert.Collection(info.Codes.ToArray(),
            c => Assert.Equal((UnwindOp.AllocLarge, 3, 0x10000u), (c.Op, c.Slots, c.Value)),
            c => Assert.Equal((UnwindOp.PushNonvol, 1, 5), (c.Op, c.Slots, c.Register)));
        Assert.Empty(info.Problems.ToArray());
    }

    [Fact]
    public void Save_nonvol_offset_is_scaled_by_8_and_save_xmm128_by_16()
    {
        // 10 34: SAVE_NONVOL rbx, slot 5 -> 40; 08 68: SAVE_XMM128 xmm6, slot 2 -> 32.
        var info = Decode(0x01, 0x10, 0x04, 0x00, 0x10, 0x34, 0x05, 0x00, 0x08, 0x68, 0x02, 0x00);

        Assert.Collection(info.Codes.ToArray(),
            c => Assert.Equal((UnwindOp.SaveNonvol, 2, 3, 40u), (c.Op, c.Slots, c.Register, c.Value)),
            c => Assert.Equal((UnwindOp.SaveXmm128, 2, 6, 32u), (c.Op, c.Slots, c.Register, c.Value)));
        Assert.Empty(info.Problems.ToArray());
    }

    [Fact]
    public void Far_saves_take_three_slots_and_an_unscaled_32_bit_offset()
    {
        // 10 75: SAVE_NONVOL_FAR rdi at 0x00020010; 08 F9: SAVE_XMM128_FAR xmm15 at 0x00010020.
        var info = Decode(0x01, 0x10, 0x06, 0x00, 0x10, 0x75, 0x10, 0x00, 0x02, 0x00, 0x08, 0xF9, 0x20, 0x00, 0x01, 0x00);

        Assert.Collection(info.Codes.ToArray(),
            c => Assert.Equal((UnwindOp.SaveNonvolFar, 3, 7, 0x20010u), (c.Op, c.Slots, c.Register, c.Value)),
            c => Assert.Equal((UnwindOp.SaveXmm128Far, 3, 15, 0x10020u), (c.Op, c.Slots, c.Register, c.Value)));
        Assert.Empty(info.Problems.ToArray());
    }

    [Fact]
    public void Push_machframe_takes_one_slot()
    {
        // 01 1A: PUSH_MACHFRAME with error code (OpInfo 1), then 00 02: ALLOC_SMALL 8 bytes.
        var info = Decode(0x01, 0x01, 0x02, 0x00, 0x01, 0x1A, 0x00, 0x02);

        Assert.Equal([UnwindOp.PushMachframe, UnwindOp.AllocSmall], info.Codes.ToArray().Select(c => c.Op));
        Assert.Equal(1, info.Codes[0].Slots);
    }

    [Fact]
    public void Op_6_in_a_version_1_record_is_the_obsolete_save_xmm_and_reported()
    {
        var info = Decode(0x01, 0x04, 0x02, 0x00, 0x04, 0x06, 0x02, 0x00);

        Assert.Contains(info.Problems.ToArray(), p => p.Code == ProblemCode.UnwindObsoleteOp);
    }

    [Fact]
    public void Spare_op_7_is_reported_and_its_size_not_guessed()
    {
        // 08 07: UWOP_SPARE_CODE; the codes after it cannot be located, so none is decoded after it.
        var info = Decode(0x01, 0x08, 0x04, 0x00, 0x08, 0x07, 0x04, 0x42, 0x02, 0x50, 0x01, 0x50);

        Assert.Contains(info.Problems.ToArray(), p => p.Code is ProblemCode.UnwindUnknownOp or ProblemCode.UnwindObsoleteOp);
        Assert.DoesNotContain(info.Codes.ToArray(), c => c.CodeOffset < 8);
    }

    [Fact]
    public void Chaininfo_with_a_handler_flag_is_reported()
    {
        // Flags 5 = EHANDLER | CHAININFO: the two are exclusive.
        var info = Decode(0x29, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x20, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00);

        Assert.Contains(info.Problems.ToArray(), p => p.Code == ProblemCode.UnwindFlagsChainAndHandler);
        Assert.False(info.HasHandler);
    }
}
