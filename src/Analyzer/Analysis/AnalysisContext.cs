using System.Collections.Concurrent;
using Pelint.Pe;

namespace Pelint.Analysis;

/// <summary>How one file is analysed: how many threads an analysis may use and when to stop.</summary>
public sealed record AnalysisSettings
{
    public static readonly AnalysisSettings Default = new();

    /// <summary>Threads an analysis may use to build itself (the scan's <c>--threads</c>); at least 1.</summary>
    public int Parallelism { get; init; } = 1;

    /// <summary>Stops long analyses when cancelled (the whole scan; a <see cref="Budget"/> adds its own deadline).</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>Folders searched for an image's PDB after the image's own folder (the scan's <c>--symbols</c>).</summary>
    public IReadOnlyList<string> SymbolDirectories { get; init; } = [];

    /// <summary>The file's time budget, if any: its token (linked to the scan's cancellation when it was made) is then the context's <see cref="AnalysisContext.Cancellation"/>.</summary>
    public TimeBudget? Budget { get; init; }
}

/// <summary>
/// Something an analysis wants the user to know about how the file was analyzed that is neither
/// a finding nor a failure (a PDB that was found but not used, and why). The engine reports each
/// as a note-level tool notification.
/// </summary>
/// <param name="Message">A sentence for people.</param>
public sealed record AnalysisNote(string Message);

/// <summary>
/// One image under analysis, with the run's settings and the analyses computed for it so far.
/// Rules and analyses ask it for analyses by <see cref="AnalysisKey{T}"/>; each is computed once
/// (on first request, by the first thread that asks) and shared.
/// </summary>
public sealed class AnalysisContext
{
    private readonly ConcurrentDictionary<object, Lazy<object>> _analyses = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentQueue<AnalysisNote> _notes = new();
    private readonly TimeBudget? _budget;

    public AnalysisContext(PeImage image, AnalysisSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        Image = image;
        settings ??= AnalysisSettings.Default;
        Parallelism = Math.Max(1, settings.Parallelism);
        Cancellation = settings.Budget?.Token ?? settings.Cancellation;
        SymbolDirectories = settings.SymbolDirectories;
        _budget = settings.Budget;
    }

    public PeImage Image { get; }

    /// <summary>Threads an analysis may use.</summary>
    public int Parallelism { get; }

    /// <summary>Observed by long analyses; they throw <see cref="OperationCanceledException"/>.</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>Folders searched for the image's PDB after its own folder.</summary>
    public IReadOnlyList<string> SymbolDirectories { get; }

    /// <summary>
    /// Throws <see cref="OperationCanceledException"/> if the work should stop: called at the
    /// boundaries of long work, it also notices a time budget whose timer has not fired yet.
    /// </summary>
    public void ThrowIfStopped()
    {
        _budget?.CheckDeadline();
        Cancellation.ThrowIfCancellationRequested();
    }

    /// <summary>Whether the work should stop (see <see cref="ThrowIfStopped"/>).</summary>
    public bool IsStopped
    {
        get
        {
            _budget?.CheckDeadline();
            return Cancellation.IsCancellationRequested;
        }
    }

    /// <summary>Notes the analyses made so far, in the order they were made.</summary>
    public IReadOnlyList<AnalysisNote> Notes => [.. _notes];

    /// <summary>Records a note for the user (see <see cref="AnalysisNote"/>).</summary>
    public void Note(AnalysisNote note)
    {
        ArgumentNullException.ThrowIfNull(note);
        _notes.Enqueue(note);
    }

    /// <summary>The analysis named by <paramref name="key"/>, computed on first request.</summary>
    public T Get<T>(AnalysisKey<T> key)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(key);
        var lazy = _analyses.GetOrAdd(key, static (k, context) => new Lazy<object>(() => ((AnalysisKey<T>)k).Compute(context), LazyThreadSafetyMode.ExecutionAndPublication), this);
        return (T)lazy.Value;
    }
}
