using Iced.Intel;

namespace Pelint.Analysis.StackWalk;

/// <summary>An instruction the verifier decoded in the current function, with the <see cref="CallFacts"/> worked out with it (fields, to be read in place).</summary>
internal readonly struct DecodedInstruction(Instruction instruction, CallFacts facts)
{
    public readonly Instruction Instruction = instruction;

    public readonly CallFacts Facts = facts;
}
