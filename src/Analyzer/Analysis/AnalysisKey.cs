namespace Pelint.Analysis;

/// <summary>
/// Names one analysis and the one way to compute it. An <see cref="AnalysisContext"/> caches each
/// key's value, so every rule asking for the same key shares one computation; two analyses of the
/// same type (say, a scan with and without some option) are two keys, never one cache slot.
/// </summary>
/// <typeparam name="T">The analysis result.</typeparam>
public sealed class AnalysisKey<T>
    where T : class
{
    private readonly Func<AnalysisContext, T> _compute;

    public AnalysisKey(string name, Func<AnalysisContext, T> compute)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(compute);
        Name = name;
        _compute = compute;
    }

    /// <summary>For diagnostics: what the analysis is.</summary>
    public string Name { get; }

    internal T Compute(AnalysisContext context) => _compute(context);

    public override string ToString() => Name;
}
