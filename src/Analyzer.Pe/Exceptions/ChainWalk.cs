namespace Pelint.Pe.Exceptions;

/// <summary>The outcome of following a chain (CHAININFO or low-bit indirect entries).</summary>
/// <param name="Path">The entries visited, starting with the one asked about.</param>
/// <param name="End">The entry the walk ended at (a primary entry, or the real unwind data), when it ended well.</param>
/// <param name="Problem">Null when the chain is sound; else what is wrong, located at the entry asked about.</param>
public sealed record ChainWalk(IReadOnlyList<RuntimeFunction> Path, RuntimeFunction? End, PeProblem? Problem)
{
    public bool IsSound => Problem is null;

    /// <summary>A walk that stopped at a problem; the problem is located at the first entry of the path.</summary>
    public static ChainWalk Broken(IReadOnlyList<RuntimeFunction> path, ProblemCode code, string message) =>
        new(path, null, new PeProblem(PeStructure.ExceptionDirectory, code, message, path[0].BeginAddress, path[0].FileOffset, RuntimeFunction.Size));
}
