namespace Pelint.Pe.Exceptions;

/// <summary>Why following a chain (CHAININFO or low-bit indirect) stopped before a primary entry.</summary>
public enum ChainProblem
{
    None,
    Cycle,
    TooDeep,
    Dangling,
    NotAtEntryBoundary,
    Mismatch,
    Unreadable,
}

/// <summary>
/// The result of following a chain: every entry visited, in order (the start first), and the
/// problem that stopped it, if any. <see cref="End"/> is the last entry reached.
/// </summary>
public sealed record ChainWalk(IReadOnlyList<RuntimeFunction> Path, ChainProblem Problem, string? Detail = null)
{
    public RuntimeFunction End => Path[^1];

    public bool IsComplete => Problem == ChainProblem.None;

    /// <summary>The path as "0x1000 -> 0x2000 -> ..." (begin RVAs).</summary>
    public string Describe() => string.Join(" -> ", Path.Select(p => $"0x{p.BeginAddress:X}"));
}
