using Pelint.Pe.Exceptions.Arm64;

namespace Pelint.Pe.Tests.Exceptions.Arm64;

/// <summary>
/// Packed ARM64 unwind data and its expansion. Expected values: Microsoft's "ARM64 exception
/// handling" (field layout, example 1 "0x416101ed"), and the worked example in the comment of
/// RtlpUnwindFunctionCompact in the Windows unwinder dotnet/runtime publishes
/// (src/coreclr/unwinder/arm64/unwinder.cpp).
/// </summary>
public sealed class Arm64PackedUnwindTests
{
    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    [Fact]
    public void Documentation_example_1_decodes_to_its_annotated_fields()
    {
        // ;Flags[SingleProEpi] functionLength[492] RegF[0] RegI[1] H[0] frameChainReturn[Chained] frameSize[2080]
        var p = new Arm64PackedUnwind(0x416101ED);
        Assert.Equal((1, 492u, 0, 1, false, 3, 2080u), (p.Flag, p.FunctionLength, p.RegF, p.RegI, p.H, p.CR, p.FrameSize));
    }

    [Fact]
    public void Documentation_example_1_expands_to_its_prolog()
    {
        // str x19,[sp,#-0x10]! (save_reg_x); sub sp,sp,#0x810 (alloc_m); stp fp,lr,[sp] (save_fplr); mov fp,sp (set_fp)
        var record = new Arm64PackedUnwind(0x416101ED).Expand();
        var prolog = record.DecodeSequence(0, out var terminated, out _);
        Assert.True(terminated);
        Assert.Equal(["set_fp", "save_fplr", "alloc_m", "save_reg_x", "end"], prolog.Select(c => c.Name));
        Assert.Equal(["mov fp, sp", "stp x29, x30, [sp, #0]", "sub sp, #2064", "str x19, [sp, #-16]!", "end"], prolog.Select(c => c.Describe(prolog: true)));
        Assert.True(record.EpilogInHeader);
        Assert.Equal(1, record.EpilogCount); // the epilog skips set_fp
    }

    [Fact]
    public void The_unwinders_largest_packed_example_expands_to_its_listed_codes()
    {
        // Flag 1, RegF 7, RegI 10, H 1, CR 2 (chained with pacibsp), FrameSize 8000/16.
        const uint word = 1u | (100u << 2) | (7u << 13) | (10u << 16) | (1u << 20) | (2u << 21) | (500u << 23);
        var record = new Arm64PackedUnwind(word).Expand();
        var codes = record.Codes;

        // "Full Prolog: e1 40 c1 e7 e3 e3 e3 e3 d9 90 d9 0e d8 8c d8 0a ca 08 c9 86 c9 04 c8 82 cc 19 fc e4"
        Assert.Equal("e140c1e7e3e3e3e3d990d90ed88cd80aca08c986c904c882cc19fce4", Hex(codes[..28]));

        // "Full Epilog (same as prolog minus the 4 x NOP for param home spill)", entered after set_fp.
        Assert.Equal("e140c1e7d990d90ed88cd80aca08c986c904c882cc19fce4", Hex(codes[28..52]));
        Assert.Equal(29, record.EpilogCount);
    }

    [Fact]
    public void Homed_parameters_add_nops_to_the_prolog_but_not_to_the_epilog()
    {
        // The documentation: "The epilogs for canonical functions follow a similar form, except H
        // has no effect". The unwinder builds the epilog from the prolog without the home nops.
        // LLVM's unwind emitter once expected the nops in the epilog too (llvm-project issue 54879):
        // this pins the Windows behaviour. RegI 2, H 1, CR 3, FrameSize 96.
        const uint word = 1u | (20u << 2) | (2u << 16) | (1u << 20) | (3u << 21) | (6u << 23);
        var record = new Arm64PackedUnwind(word).Expand();
        var prolog = record.DecodeSequence(0, out _, out _).Select(c => c.Name);
        var epilog = record.DecodeSequence(record.EpilogCount, out _, out _).Select(c => c.Name);
        Assert.Equal(["set_fp", "save_fplr_x", "nop", "nop", "nop", "nop", "save_regp_x", "end"], prolog);
        Assert.Equal(["save_fplr_x", "save_regp_x", "end"], epilog);
    }

    [Fact]
    public void Homed_parameters_with_nothing_else_saved_are_homed_after_the_prolog()
    {
        // With no register to save there is no save area to home into: the unwinder emits no nops
        // (the home stores belong to the body) and allocates the whole frame at once.
        const uint word = 1u | (20u << 2) | (1u << 20) | (4u << 23); // H 1, CR 0, FrameSize 64
        var prolog = new Arm64PackedUnwind(word).Expand().DecodeSequence(0, out _, out _);
        Assert.Equal(["sub sp, #64", "end"], prolog.Select(c => c.Describe(prolog: true)));
    }

    [Fact]
    public void Cr_1_with_only_x19_allocates_first_and_saves_the_pair_with_lr()
    {
        // The documentation's "Only x19 saved": sub sp,sp,#16; stp x19,lr,[sp]; sub sp,sp,#(framesz-16).
        const uint word = 1u | (16u << 2) | (1u << 16) | (1u << 21) | (4u << 23); // RegI 1, CR 1, FrameSize 64
        var prolog = new Arm64PackedUnwind(word).Expand().DecodeSequence(0, out _, out _);
        Assert.Equal(["sub sp, #48", "stp x19, lr, [sp, #0]", "sub sp, #16", "end"], prolog.Select(c => c.Describe(prolog: true)));
    }

    [Theory]
    [InlineData(1u | (16u << 2) | (11u << 16) | (2u << 23), false)] // RegI 11
    [InlineData(1u | (16u << 2) | (2u << 16), false)] // RegI 2, FrameSize 0
    [InlineData(1u | (16u << 2) | (2u << 16) | (3u << 21) | (1u << 23), false)] // chained, no room for x29/lr
    [InlineData(1u | (2u << 16) | (2u << 23), false)] // length 0
    [InlineData(1u | (16u << 2) | (2u << 16) | (3u << 21) | (2u << 23), true)]
    public void Impossible_frames_are_recognized(uint word, bool possible) =>
        Assert.Equal(possible, new Arm64PackedUnwind(word).DescribesPossibleFrame);
}
