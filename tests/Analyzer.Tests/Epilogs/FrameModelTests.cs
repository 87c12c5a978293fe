using Pelint.Analysis.Epilogs;
using Pelint.Pe.Code;
using Pelint.Pe.Exceptions;

namespace Pelint.Tests.Epilogs;

/// <summary>Epilogs replayed against the frame that unwind codes (in prolog execution order) describe.</summary>
public sealed class FrameModelTests
{
    private const int Rbx = 3;
    private const int Rbp = 5;
    private const int Rsi = 6;

    private static UnwindCode Push(int register) => new(0, UnwindOp.PushNonvol, (byte)register, 0, 1);

    private static UnwindCode Alloc(uint size) => new(0, size <= 128 ? UnwindOp.AllocSmall : UnwindOp.AllocLarge, 0, size, 1);

    private static UnwindCode Save(int register, uint offset) => new(0, UnwindOp.SaveNonvol, (byte)register, offset, 2);

    private static UnwindCode SetFrame(int register) => new(0, UnwindOp.SetFpreg, (byte)register, 0, 1);

    /// <summary>The epilog's instructions before the exit (the exit is the last instruction of the bytes).</summary>
    private static string? Replay(FrameModel model, string hex, int frameRegister = 0)
    {
        var instructions = ImageCode.DecodeAll(Convert.FromHexString(hex), 64, 0x1000);
        return model.Replay(instructions.Take(instructions.Count - 1), frameRegister);
    }

    [Fact]
    public void Pops_in_reverse_push_order_after_releasing_the_allocation_match()
    {
        var model = FrameModel.FromExecutionOrder([Push(Rbx), Push(Rsi), Alloc(0x28)], 0);

        Assert.Equal(0x38, model.Depth);
        Assert.Null(Replay(model, "4883C4285E5BC3")); // add rsp,0x28; pop rsi; pop rbx; ret
    }

    [Fact]
    public void Pops_in_push_order_restore_a_register_from_the_other_ones_slot()
    {
        var model = FrameModel.FromExecutionOrder([Push(Rbx), Push(Rsi), Alloc(0x28)], 0);

        var problem = Replay(model, "4883C4285B5EC3"); // add rsp,0x28; pop rbx; pop rsi; ret

        Assert.Equal("pops rbx from the slot where the prolog pushed rsi", problem);
    }

    [Fact]
    public void Releasing_less_than_the_allocation_is_named_as_the_release()
    {
        var model = FrameModel.FromExecutionOrder([Push(Rbx), Alloc(0x28)], 0);

        var problem = Replay(model, "4883C4205BC3"); // add rsp,0x20; pop rbx; ret

        Assert.Equal("releases 32 bytes of stack, but the unwind codes allocate 40 bytes below the pushed registers", problem);
    }

    [Fact]
    public void Frame_left_on_the_stack_at_ret_is_reported()
    {
        var model = FrameModel.FromExecutionOrder([Alloc(0x28)], 0);

        Assert.Equal("leaves 40 bytes of the 40-byte frame on the stack at the exit", Replay(model, "C3"));
    }

    [Fact]
    public void Gnu_alloc_plus_save_at_offset_zero_is_a_push()
    {
        // GNU split fragments: a push described as ALLOC 8 then SAVE_NONVOL at rsp+0.
        var model = FrameModel.FromExecutionOrder([Alloc(8), Save(Rbx, 0), Alloc(0x20)], 0);

        Assert.Null(Replay(model, "4883C4205BC3")); // add rsp,0x20; pop rbx; ret
    }

    [Fact]
    public void Msvc_alloc_small_8_for_a_pushed_volatile_register_is_a_push()
    {
        // push rbx; push rcx (described as ALLOC_SMALL 8); epilog pops rcx then rbx.
        var model = FrameModel.FromExecutionOrder([Push(Rbx), Alloc(8)], 0);

        Assert.Null(Replay(model, "595BC3"));
    }

    [Fact]
    public void Popping_a_nonvolatile_register_from_an_allocation_is_reported()
    {
        var model = FrameModel.FromExecutionOrder([Push(Rbx), Alloc(8)], 0);

        Assert.Equal("pops nonvolatile rsi from stack the prolog allocated but did not save it in", Replay(model, "5E5BC3"));
    }

    [Fact]
    public void Lea_rsp_through_the_frame_register_must_undo_set_fpreg_with_its_offset()
    {
        // push rbp; sub rsp,0x40; lea rbp,[rsp+0x20] (SET_FPREG, FrameOffset 0x20): rbp sits 0x28 above the return address.
        var model = FrameModel.FromExecutionOrder([Push(Rbp), Alloc(0x40), SetFrame(Rbp)], 0x20);

        Assert.Null(Replay(model, "488D65205DC3", Rbp)); // lea rsp,[rbp+0x20]; pop rbp; ret
        Assert.NotNull(Replay(model, "488D65105DC3", Rbp)); // lea rsp,[rbp+0x10]: 16 bytes short
    }

    [Fact]
    public void Mov_rsp_r11_lands_on_the_pushed_registers()
    {
        var model = FrameModel.FromExecutionOrder([Push(Rbx), Push(Rsi), Alloc(0x60)], 0);

        Assert.Null(Replay(model, "498BE35E5BC3")); // mov rsp,r11; pop rsi; pop rbx; ret
    }

    [Fact]
    public void Skipping_a_pushed_register_is_reported()
    {
        var model = FrameModel.FromExecutionOrder([Push(Rbx), Push(Rsi)], 0);

        Assert.NotNull(Replay(model, "4883C4085BC3")); // add rsp,8 over rsi's slot; pop rbx; ret
    }

    [Fact]
    public void Push_machframe_is_not_modelled()
    {
        var model = FrameModel.FromExecutionOrder([new UnwindCode(0, UnwindOp.PushMachframe, 0, 0, 1)], 0);

        Assert.NotNull(model.NotModelled);
    }
}
