namespace Pelint.Pe;

/// <summary>Why a file could not be opened as a PE image.</summary>
public enum PeOpenFailure
{
    None,
    /// <summary>No MZ/PE signature: not a PE image at all (skipped quietly when found in a folder).</summary>
    NotPe,
    /// <summary>A PE signature, but headers that cannot be read.</summary>
    Malformed,
    /// <summary>The file could not be read (permissions, vanished, too large, I/O error).</summary>
    Unreadable,
}

/// <summary>The outcome of <see cref="PeImage.Open(string, PeOpenOptions?)"/>: an image, or why there is none.</summary>
public sealed record PeOpenResult(PeImage? Image, PeOpenFailure Failure, string? Reason)
{
    public bool Success => Image is not null;

    public static PeOpenResult Ok(PeImage image) => new(image, PeOpenFailure.None, null);

    public static PeOpenResult Fail(PeOpenFailure failure, string reason) => new(null, failure, reason);
}

/// <summary>Limits applied when opening untrusted files.</summary>
public sealed record PeOpenOptions
{
    public static readonly PeOpenOptions Default = new();

    /// <summary>Files larger than this are not opened (RVAs and spans address at most 2 GiB anyway).</summary>
    public long MaxFileSize { get; init; } = int.MaxValue;
}
