using Pelint.Pe.Exceptions;

namespace Pelint.Analysis.StackWalk;

/// <summary>How a function's unwind data relates to its code, as far as the verifier can tell.</summary>
public enum FrameDescription : byte
{
    /// <summary>The codes describe the frame (there may still be hazards).</summary>
    Described,

    /// <summary>No unwind codes at all, and a language handler of its own: only that handler can unwind it.</summary>
    HandlerOnly,
}

/// <summary>
/// The verifier's answer for one function (its primary .pdata entry and chained fragments): the
/// instructions where a stack walk goes wrong (the first <see cref="FunctionVerdict.MaxKept"/>
/// of each kind, and how many in all), and what it could not judge.
/// </summary>
public sealed class FunctionVerdict(RuntimeFunction primary)
{
    /// <summary>Hazards of one kind kept per function (the rest are counted).</summary>
    public const int MaxKept = 16;

    private readonly List<Hazard> _hazards = [];
    private readonly int[] _counts = new int[3];

    public RuntimeFunction Primary { get; private set; } = primary;

    /// <summary>The frame depth the codes describe (bytes between the return address and the post-prolog RSP).</summary>
    public long FrameDepth { get; internal set; }

    public FrameDescription Description { get; internal set; }

    /// <summary>The hazards kept, in address order within each kind.</summary>
    public IReadOnlyList<Hazard> Hazards => _hazards;

    /// <summary>Instructions reached and judged.</summary>
    public int InstructionsChecked { get; internal set; }

    /// <summary>Instructions reached whose state was not known well enough to judge.</summary>
    public int InstructionsUnjudged { get; internal set; }

    /// <summary>Places where paths with different stack pointers or frame registers meet.</summary>
    public List<uint> UnbalancedJoins { get; } = [];

    /// <summary>Where the code could not be followed (an undecodable instruction, an unresolved indirect jump, ...), with why.</summary>
    public List<(uint Rva, string Why)> Unfollowed { get; } = [];

    /// <summary>
    /// Frame releases and tail jumps the documented epilog form does not list but the unwinder
    /// handles (the instruction after the release already reads as an epilog).
    /// </summary>
    public List<(uint Rva, string Form)> UndocumentedForms { get; } = [];

    /// <summary>Returns and tail jumps reached.</summary>
    public int ExitsReached { get; internal set; }

    /// <summary>Set when the function was not analysed at all, with why (the count of each reason is kept by the image analysis).</summary>
    public string? NotAnalyzed { get; internal set; }

    public int Count(HazardKind kind) => _counts[(int)kind];

    public bool HasHazards => _counts[0] + _counts[1] + _counts[2] > 0;

    /// <summary>Makes this the empty verdict of another function (a verdict with nothing to report is reused).</summary>
    internal void Reset(RuntimeFunction primary)
    {
        Primary = primary;
        FrameDepth = 0;
        Description = FrameDescription.Described;
        _hazards.Clear();
        Array.Clear(_counts);
        InstructionsChecked = 0;
        InstructionsUnjudged = 0;
        UnbalancedJoins.Clear();
        Unfollowed.Clear();
        UndocumentedForms.Clear();
        ExitsReached = 0;
        NotAnalyzed = null;
    }

    internal void Add(in Hazard hazard)
    {
        if (_counts[(int)hazard.Kind]++ < MaxKept)
        {
            _hazards.Add(hazard);
        }
    }
}
