using Pelint.Analysis;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>
/// What a rule gets to work with: the image with its analyses, its own descriptor, and how many of
/// its findings the engine has kept so far. The engine keeps the first
/// <see cref="RuleDescriptor.MaxResults"/> findings a rule yields on an image and only counts the
/// rest for one summary result, so a rule that yields lazily costs little past its cap.
/// </summary>
public sealed class RuleContext(AnalysisContext analysis, RuleDescriptor descriptor)
{
    /// <summary>The image under analysis and the analyses shared by every rule.</summary>
    public AnalysisContext Analysis { get; } = analysis;

    public PeImage Image => Analysis.Image;

    public RuleDescriptor Descriptor { get; } = descriptor;

    /// <summary>What the configuration requires of this image (e.g. that it be hot-patchable).</summary>
    public ImageRequirements Requirements { get; init; } = ImageRequirements.None;

    public CancellationToken Cancellation => Analysis.Cancellation;

    /// <summary>The image's file name, the first argument of most messages.</summary>
    public string FileName => System.IO.Path.GetFileName(Image.Path);

    /// <summary>
    /// Whether the engine already holds as many of this rule's findings as it reports: whatever the
    /// rule yields from now on is only counted. A rule whose findings cost something to describe
    /// (names, locations, strings) yields <see cref="Finding.PastCap"/> instead of describing them.
    /// </summary>
    public bool IsPastCap => Kept >= Descriptor.MaxResults;

    /// <summary>Findings the engine has kept (set by the engine as it takes them).</summary>
    internal int Kept { get; set; }

    /// <summary>Findings yielded past the cap, described or not.</summary>
    internal int Dropped { get; set; }

    /// <summary>The most severe level among the findings past the cap (their own, else the rule's).</summary>
    internal Level DroppedLevel { get; set; }
}
