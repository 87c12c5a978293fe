using Pelint.Engine;
using Pelint.Rules;

namespace Pelint.Cli.Commands;

/// <summary>Everything `pelint scan` was asked to do, read once from the command line.</summary>
internal sealed record ScanSettings
{
    public required IReadOnlyList<string> Paths { get; init; }

    public string? Output { get; init; }

    public string Format { get; init; } = "text";

    /// <summary>null: never fail on results.</summary>
    public Level? FailLevel { get; init; } = Level.Error;

    public required string SourceRoot { get; init; }

    public string? Category { get; init; }

    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>An explicit .editorconfig-format file, below the ones found next to the scanned files.</summary>
    public string? Config { get; init; }

    public string? Baseline { get; init; }

    /// <summary>false: the gate counts only results new since the baseline.</summary>
    public bool FailOnAllBaselineStates { get; init; }

    public Shard? Shard { get; init; }

    public int MaxResults { get; init; } = 25_000;

    public bool Quiet { get; init; }

    /// <summary>A scan that found no PE image passes (by default it exits with 3).</summary>
    public bool AllowEmpty { get; init; }

    /// <summary>Files larger than this are reported unreadable (PEL0001) and not read.</summary>
    public long MaxFileSize { get; init; } = int.MaxValue;

    /// <summary>Per-file time budget; past it the file's rules stop (PEL0004) and partial results are kept.</summary>
    public TimeSpan? FileTimeBudget { get; init; }
}
