using Pelint.Pe.Code.Arm64;

namespace Pelint.Pe.Tests.Code;

/// <summary>A64 words and their listings as GNU objdump (aarch64-linux-gnu-objdump -d) prints them for real ARM64 images.</summary>
public sealed class A64InstructionTests
{
    [Theory]
    [InlineData(0xa9bf7bfdu, "stp x29, x30, [sp, #-16]!")]
    [InlineData(0xa8c17bfdu, "ldp x29, x30, [sp], #16")]
    [InlineData(0xa94253f3u, "ldp x19, x20, [sp, #32]")]
    [InlineData(0xadbb1fe6u, "stp q6, q7, [sp, #-160]!")]
    [InlineData(0xad0127e8u, "stp q8, q9, [sp, #32]")]
    [InlineData(0xf94013f5u, "ldr x21, [sp, #32]")]
    [InlineData(0xf84107f3u, "ldr x19, [sp], #16")]
    [InlineData(0x910003fdu, "mov x29, sp")]
    [InlineData(0xd10283ffu, "sub sp, sp, #160")]
    [InlineData(0x910043ffu, "add sp, sp, #16")]
    [InlineData(0xd65f03c0u, "ret")]
    [InlineData(0xd503237fu, "pacibsp")]
    [InlineData(0xd50323ffu, "autibsp")]
    [InlineData(0xd503201fu, "nop")]
    [InlineData(0x52800180u, "mov w0, #0xc")]
    [InlineData(0x52800600u, "mov w0, #0x30")]
    [InlineData(0xf2a00020u, "movk x0, #0x1, lsl #16")]
    [InlineData(0x1e260000u, ".word 0x1e260000")] // fmov w0, s0: not an instruction the check models
    public void Decodes_as_objdump_lists_it(uint word, string listing) => Assert.Equal(listing, A64Instruction.Decode(word).ToString());

    [Fact]
    public void Pair_offsets_are_scaled_and_signed()
    {
        var i = A64Instruction.Decode(0xa9bd7bfd); // stp x29, x30, [sp, #-48]!
        Assert.Equal((A64Kind.Store, A64RegisterClass.X, 29, 30, 31, A64Addressing.PreIndex, -48L), (i.Kind, i.Class, i.Rt, i.Rt2, i.Rn, i.Addressing, i.Immediate));
    }
}
