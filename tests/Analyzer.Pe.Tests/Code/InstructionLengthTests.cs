using Iced.Intel;
using Pelint.Pe.Code;
using IcedCode = Iced.Intel.Code;

namespace Pelint.Pe.Tests.Code;

/// <summary>The table-driven length measure agrees with Iced wherever it answers, over real compiled code.</summary>
public sealed class InstructionLengthTests
{
    private static readonly HashSet<IcedCode> Exits = [IcedCode.Retnq, IcedCode.Retnq_imm16, IcedCode.Jmp_rel8_64, IcedCode.Jmp_rel32_64, IcedCode.Jmp_rm64];

    [Fact]
    public void Lengths_and_hints_match_Iced_on_every_function_of_the_runtime_pack()
    {
        long instructions = 0, measured = 0;
        foreach (var (file, code, offset, instruction) in RuntimePackCode.Instructions())
        {
            instructions++;
            var length = InstructionLength.Of(code.AsSpan(offset), out var hints);
            if (length == 0)
            {
                continue;
            }

            measured++;
            var where = RuntimePackCode.Where(file, code, offset, instruction);
            Assert.True(instruction.Code != IcedCode.INVALID, $"measured an instruction Iced rejects: {where}");
            Assert.True(length == instruction.Length, $"length {length}, Iced {instruction.Length}: {where}");
            Assert.True(!Exits.Contains(instruction.Code) || hints.HasFlag(LengthHints.ExitCandidate), $"exit not flagged: {where}");
            Assert.True(instruction.MemoryIndex == Register.None || hints.HasFlag(LengthHints.IndexedMemory), $"index register not flagged: {where}");
            var tableForm = instruction.MemoryIndex != Register.None && instruction.MemoryIndexScale is 1 or 4 && instruction.MemoryDisplSize >= 4;
            Assert.True(tableForm == hints.HasFlag(LengthHints.IndexedDisplacement32), $"indexed disp32 form {(tableForm ? "not " : string.Empty)}flagged: {where}");
        }

        // The table must carry most of the work, or the scan gains nothing from it.
        Assert.True(measured > instructions * 0.8, $"measured {measured:N0} of {instructions:N0} instructions");
    }

    [Theory]
    [InlineData("C3", 1, LengthHints.ExitCandidate)]                       // ret
    [InlineData("F3C3", 2, LengthHints.ExitCandidate)]                     // rep ret
    [InlineData("C21000", 3, LengthHints.ExitCandidate)]                   // ret 0x10
    [InlineData("48B88877665544332211", 10, LengthHints.None)]             // mov rax, imm64
    [InlineData("66B83412", 4, LengthHints.None)]                          // mov ax, imm16
    [InlineData("8B0C8500100000", 7, LengthHints.IndexedMemory | LengthHints.IndexedDisplacement32)] // mov ecx, [rax*4+0x1000]
    [InlineData("8B4C8108", 4, LengthHints.IndexedMemory)]                 // mov ecx, [rcx+rax*4+8]: disp8
    [InlineData("8B8CC100100000", 7, LengthHints.IndexedMemory)]           // mov ecx, [rcx+rax*8+0x1000]: scale 8
    [InlineData("FF2425E8030000", 7, LengthHints.ExitCandidate)]           // jmp [0x3e8]: a SIB byte without an index
    [InlineData("FF25F0FFFFFF", 6, LengthHints.ExitCandidate)]             // jmp [rip-0x10]
    [InlineData("0F8410000000", 6, LengthHints.None)]                      // je rel32
    [InlineData("F76610", 3, LengthHints.None)]                            // mul dword [rsi+0x10]
    [InlineData("F7C010000000", 6, LengthHints.None)]                      // test eax, 0x10
    public void Measures_known_encodings(string hex, int expected, LengthHints expectedHints)
    {
        var length = InstructionLength.Of(Convert.FromHexString(hex), out var hints);

        Assert.Equal((expected, expectedHints), (length, hints));
    }

    [Theory]
    [InlineData("F0FF00")]       // lock: validity depends on the instruction
    [InlineData("C5F877")]       // VEX
    [InlineData("66E900000000")] // jmp with an operand-size prefix
    [InlineData("488D")]         // runs past the bytes
    [InlineData("8DC0")]         // lea of a register: invalid
    [InlineData("4866C3")]       // REX before a legacy prefix
    [InlineData("F7C801000000")] // F7 /1: an alias of TEST that decoders differ on
    public void Leaves_to_Iced_what_it_does_not_measure(string hex)
    {
        Assert.Equal(0, InstructionLength.Of(Convert.FromHexString(hex), out _));
    }
}
