using Pelint.Pe.Code;

namespace Pelint.Pe.Tests.Code;

/// <summary>Control flow measured from the length table agrees with Iced's decode wherever it answers, over real compiled code.</summary>
public sealed class InstructionFlowTests
{
    [Fact]
    public void Flow_measured_without_Iced_matches_Iceds_on_every_function_of_the_runtime_pack()
    {
        long instructions = 0, measured = 0, transfers = 0;
        foreach (var (file, code, offset, instruction) in RuntimePackCode.Instructions())
        {
            instructions++;
            if (!InstructionFlow.TryMeasure(code.AsSpan(offset, Math.Min(15, code.Length - offset)), instruction.IP, out var flow))
            {
                continue;
            }

            measured++;
            var where = RuntimePackCode.Where(file, code, offset, instruction);
            Assert.False(instruction.IsInvalid, $"measured an instruction Iced rejects: {where}");
            Assert.True(InstructionFlow.From(instruction) == flow, $"{flow}, Iced {InstructionFlow.From(instruction)}: {where}");
            transfers += flow.Kind == FlowKind.Next ? 0 : 1;
        }

        // The table must carry most of the work, branches included, or walks gain nothing from it.
        Assert.True(measured > instructions * 0.8, $"measured {measured:N0} of {instructions:N0} instructions");
        Assert.True(transfers > measured / 20, $"{transfers:N0} transfers of control among {measured:N0} measured");
    }

    [Theory]
    [InlineData("C3", FlowKind.Return, 0UL)]
    [InlineData("EBFE", FlowKind.Jump, 0x1000UL)]                 // jmp $
    [InlineData("E910000000", FlowKind.Jump, 0x1015UL)]
    [InlineData("E8FBEFFFFF", FlowKind.Call, 0x0UL)]              // call 0
    [InlineData("0F8410000000", FlowKind.ConditionalJump, 0x1016UL)]
    [InlineData("7480", FlowKind.ConditionalJump, 0xF82UL)]       // je back 0x80
    [InlineData("CD29", FlowKind.Stop, 0UL)]                      // int 29h: fail fast
    [InlineData("CD03", FlowKind.Next, 0UL)]
    [InlineData("0F0B", FlowKind.Stop, 0UL)]                      // ud2
    [InlineData("48FFC0", FlowKind.Next, 0UL)]                    // inc rax
    public void Measures_known_transfers(string hex, FlowKind kind, ulong target)
    {
        Assert.True(InstructionFlow.TryMeasure(Convert.FromHexString(hex), 0x1000, out var flow));

        Assert.Equal((kind, target), (flow.Kind, flow.Target));
    }

    [Theory]
    [InlineData("F2C3")]           // bnd ret
    [InlineData("FF15F0FFFFFF")]   // call [rip-0x10]: which slot is Iced's to say
    [InlineData("48FFE0")]         // jmp rax
    [InlineData("66E90000")]       // jmp rel16
    public void Leaves_to_Iced_transfers_behind_prefixes_or_through_memory(string hex)
    {
        Assert.False(InstructionFlow.TryMeasure(Convert.FromHexString(hex), 0x1000, out _));
    }
}
