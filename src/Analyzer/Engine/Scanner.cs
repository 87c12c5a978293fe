using Pelint.Analysis;
using Pelint.Pe;
using Pelint.Rules;

namespace Pelint.Engine;

/// <summary>An input to scan and whether the user named it (named files must be PE images).</summary>
public sealed record ScanInput(string Path, bool Explicit);

/// <summary>Options of one scan.</summary>
public sealed record ScanOptions
{
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    public PeOpenOptions Open { get; init; } = PeOpenOptions.Default;

    /// <summary>Per-file time budget; rules still running past it are abandoned with a notification.</summary>
    public TimeSpan? FileTimeBudget { get; init; }

    public ISeverityPolicy Policy { get; init; } = DefaultSeverityPolicy.Instance;

    /// <summary>Folders searched for each image's PDB after the image's own folder.</summary>
    public IReadOnlyList<string> SymbolDirectories { get; init; } = [];
}

/// <summary>
/// Scans files in parallel with a bounded degree of parallelism and returns one report per
/// input, in input order whatever the scheduling, so output is deterministic.
/// </summary>
public sealed class Scanner(RuleEngine engine)
{
    public RuleEngine Engine { get; } = engine;

    public IReadOnlyList<FileReport> Scan(IReadOnlyList<ScanInput> inputs, ScanOptions options, IProgress<int>? progress = null, CancellationToken cancellation = default)
    {
        var reports = new FileReport[inputs.Count];
        var order = LargestFirst(inputs);
        var done = 0;
        Parallel.For(
            0,
            inputs.Count,
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.MaxDegreeOfParallelism), CancellationToken = cancellation },
            k =>
            {
                var i = order[k];
                reports[i] = ScanOne(inputs[i], options, cancellation);
                progress?.Report(Interlocked.Increment(ref done));
            });
        return reports;
    }

    // Big files first, so the last one to finish is a small one and no thread idles while another
    // works through the largest image alone. Reports stay in input order.
    private static int[] LargestFirst(IReadOnlyList<ScanInput> inputs)
    {
        var sizes = new long[inputs.Count];
        for (var i = 0; i < sizes.Length; i++)
        {
            try
            {
                sizes[i] = new FileInfo(inputs[i].Path).Length;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                sizes[i] = 0; // ScanOne reports it
            }
        }

        var order = Enumerable.Range(0, inputs.Count).ToArray();
        Array.Sort(order, (a, b) => sizes[a] != sizes[b] ? sizes[b].CompareTo(sizes[a]) : a.CompareTo(b));
        return order;
    }

    public FileReport ScanOne(ScanInput input, ScanOptions options, CancellationToken cancellation = default)
    {
        // The budget covers the whole file, the image's view builds included (they observe the token).
        var budget = options.FileTimeBudget;
        using var timeout = budget is null ? null : new TimeBudget(budget.Value, cancellation);
        var opened = PeImage.Open(input.Path, options.Open);
        if (!opened.Success)
        {
            return opened.Failure switch
            {
                PeOpenFailure.NotPe when !input.Explicit => new FileReport(input.Path, FileStatus.Skipped, [], [], []),
                PeOpenFailure.NotPe => Failed(input.Path, ToolNotification.NotAPeFile, $"{input.Path} is not a PE image: {opened.Reason}"),
                PeOpenFailure.Malformed => Failed(input.Path, ToolNotification.FileMalformed, $"{input.Path} could not be analyzed: {opened.Reason}"),
                _ => Failed(input.Path, ToolNotification.FileUnreadable, $"{input.Path} could not be read: {opened.Reason}"),
            };
        }

        using var image = opened.Image!;
        var analysis = new AnalysisContext(image, new AnalysisSettings
        {
            Parallelism = options.MaxDegreeOfParallelism,
            Cancellation = cancellation,
            Budget = timeout,
            SymbolDirectories = options.SymbolDirectories,
        });
        var report = Engine.Analyze(analysis, options.Policy);
        if (image.ChangedSinceOpen() is { } change)
        {
            // Read while another process truncated or rewrote it: what the rules saw is not one file.
            return Failed(input.Path, ToolNotification.FileUnreadable, $"{input.Path} could not be analyzed: {change}");
        }

        if (image.HeaderProblems.Count > 0)
        {
            // Analyzed, but from headers the reader had to cut down: say so once per problem.
            report = report with
            {
                Notifications = [.. report.Notifications, .. image.HeaderProblems.Select(p =>
                    new ToolNotification(ToolNotification.FileMalformed, Level.Warning, $"{input.Path}: {p.Message}", input.Path))],
            };
        }

        if (timeout is { Token.IsCancellationRequested: true } && !cancellation.IsCancellationRequested)
        {
            report = report with
            {
                Notifications = [.. report.Notifications, new ToolNotification(ToolNotification.TimeBudgetExceeded, Level.Error,
                    $"{input.Path}: analysis stopped after the time budget of {budget!.Value.TotalSeconds:0.###} s; results are incomplete", input.Path)],
            };
        }

        return report;
    }

    private static FileReport Failed(string path, string id, string message) =>
        new(path, FileStatus.Failed, [], [new ToolNotification(id, Level.Error, message, path)], []);
}
