using Iced.Intel;

namespace Pelint.Analysis.StackWalk;

/// <summary>An instruction the verifier decoded in the current function, with the <see cref="CallFacts"/> worked out with it.</summary>
internal readonly record struct DecodedInstruction(Instruction Instruction, CallFacts Facts);
