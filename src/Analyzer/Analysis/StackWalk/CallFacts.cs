namespace Pelint.Analysis.StackWalk;

/// <summary>What the verifier works out once about a call instruction it decoded.</summary>
[Flags]
internal enum CallFacts : byte
{
    None = 0,

    /// <summary>The callee never returns (see <see cref="NoReturnFunctions"/>).</summary>
    NeverReturns = 1,

    /// <summary>A stack probe: it returns with RAX unchanged for the prolog to subtract from RSP.</summary>
    KeepsRax = 2,
}
