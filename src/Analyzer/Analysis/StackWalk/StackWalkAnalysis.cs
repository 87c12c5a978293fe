using System.Reflection.PortableExecutable;
using Pelint.Pe;
using Pelint.Pe.Exceptions;

namespace Pelint.Analysis.StackWalk;

/// <summary>
/// The stack-walk verification of every x64 function of an image (see <see cref="FunctionVerifier"/>),
/// computed once and shared by the rules that report its hazards. Functions are taken in fixed
/// chunks that workers share, and their verdicts are kept in directory order, so the outcome does
/// not depend on the thread count.
/// </summary>
public sealed class StackWalkAnalysis
{
    /// <summary>Primary functions per unit of work: fixed, so the results are the same for any thread count.</summary>
    public const int ChunkFunctions = 256;

    private static readonly AnalysisKey<StackWalkAnalysis> Key = new("stack-walk", Build);

    private StackWalkAnalysis(IReadOnlyList<FunctionVerdict> verdicts, Totals totals)
    {
        Verdicts = verdicts;
        FunctionsVerified = totals.Verified;
        InstructionsChecked = totals.Checked;
        InstructionsUnjudged = totals.Unjudged;
        SkippedMalformed = totals.Malformed;
        SkippedVersion3 = totals.Version3;
        SkippedNotModelled = totals.NotModelled;
        ExitsReached = totals.Exits;
    }

    /// <summary>Verdicts of the functions with something to report (hazards, unbalanced joins, code not followed, undocumented epilog forms, not analysed), in directory order.</summary>
    public IReadOnlyList<FunctionVerdict> Verdicts { get; }

    public int FunctionsVerified { get; }

    /// <summary>Returns and tail jumps reached in all functions verified.</summary>
    public int ExitsReached { get; }

    public long InstructionsChecked { get; }

    public long InstructionsUnjudged { get; }

    /// <summary>Functions left out because their unwind data or chain is malformed (PE3002-PE3004 report it).</summary>
    public int SkippedMalformed { get; }

    /// <summary>Functions left out because their unwind info is version 3 (APX), which the model does not implement.</summary>
    public int SkippedVersion3 { get; }

    /// <summary>Functions left out because their codes use what the model cannot replay (a machine frame).</summary>
    public int SkippedNotModelled { get; }

    public static StackWalkAnalysis Of(AnalysisContext context) => context.Get(Key);

    /// <summary>Verifies the one function whose primary entry begins at <paramref name="primaryRva"/>, tracing discovery (investigations).</summary>
    internal static FunctionVerdict? VerifyFunction(PeImage image, uint primaryRva, Action<string>? trace) =>
        VerifyEach(image, f => f.Primary.BeginAddress == primaryRva, trace, null).FirstOrDefault();

    /// <summary>
    /// Verifies the functions <paramref name="select"/> picks, one thread, reporting discovery to
    /// <paramref name="trace"/> and every judged instruction with its state to <paramref name="observe"/> (tests, investigations).
    /// </summary>
    internal static IEnumerable<FunctionVerdict> VerifyEach(PeImage image, Func<FunctionLayout, bool> select, Action<string>? trace, Action<uint, RuntimeFunction, StackState>? observe)
    {
        using var verifier = new FunctionVerifier(image, new NoReturnFunctions(image)) { Trace = trace, Observe = observe };
        var functions = Group(image.ExceptionDirectory);
        for (var k = 0; k < functions.Count; k++)
        {
            var function = functions[k];
            if (!select(function))
            {
                continue;
            }

            if (VerifyOne(image, verifier, function, new Totals(), CancellationToken.None) is { } verdict)
            {
                yield return verdict;
            }
        }
    }

    private sealed class Totals
    {
        public int Verified;
        public long Checked;
        public long Unjudged;
        public int Malformed;
        public int Version3;
        public int NotModelled;
        public int Exits;

        public void Add(Totals other)
        {
            Exits += other.Exits;
            Verified += other.Verified;
            Checked += other.Checked;
            Unjudged += other.Unjudged;
            Malformed += other.Malformed;
            Version3 += other.Version3;
            NotModelled += other.NotModelled;
        }
    }

    private static StackWalkAnalysis Build(AnalysisContext context)
    {
        var image = context.Image;
        var directory = image.ExceptionDirectory;
        if (image.Machine != Machine.Amd64 || directory.Functions.Count == 0)
        {
            return new StackWalkAnalysis([], new Totals());
        }

        var functions = Group(directory);
        var noReturn = new NoReturnFunctions(image);
        var chunks = (functions.Count + ChunkFunctions - 1) / ChunkFunctions;
        var results = new (List<FunctionVerdict> Verdicts, Totals Totals)[chunks];
        ChunkedWork.Run(context, chunks, () => new FunctionVerifier(image, noReturn), (verifier, chunk) =>
        {
            var verdicts = new List<FunctionVerdict>();
            var totals = new Totals();
            for (var k = chunk * ChunkFunctions; k < Math.Min(functions.Count, (chunk + 1) * ChunkFunctions); k++)
            {
                // Per function, not only per chunk: a chunk of large functions can take seconds.
                context.ThrowIfStopped();
                if (VerifyOne(image, verifier, functions.Layout(k, verifier.SingleLayout), totals, context.Cancellation) is not { } verdict)
                {
                    continue;
                }

                if (Reportable(verdict))
                {
                    verdicts.Add(verdict);
                }
                else
                {
                    verifier.Recycle(verdict);
                }
            }

            results[chunk] = (verdicts, totals);
        });

        var all = new List<FunctionVerdict>();
        var sum = new Totals();
        foreach (var (verdicts, totals) in results)
        {
            all.AddRange(verdicts);
            sum.Add(totals);
        }

        return new StackWalkAnalysis(all, sum);
    }

    // Each primary x64 entry with the entries whose chain ends at it, in directory order of the primaries.
    private static FunctionList Group(ExceptionDirectory directory)
    {
        var entries = directory.Functions;
        var fragments = new Dictionary<int, List<RuntimeFunction>>();
        var primaries = new List<RuntimeFunction>(entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            // A low-bit indirect entry belongs to the function of the entry it names.
            if (!directory.IsX64(entry) || entry.Length == 0 || directory.UnwindSource(entry) is not { } source || directory.PrimaryOf(source) is not { } primary)
            {
                continue;
            }

            if (primary.Index == entry.Index)
            {
                primaries.Add(entry);
            }
            else
            {
                if (!fragments.TryGetValue(primary.Index, out var list))
                {
                    fragments[primary.Index] = list = [];
                }

                list.Add(entry);
            }
        }

        return new FunctionList(primaries, fragments);
    }

    // The functions of an image by index; each layout is made when asked for, so a large image
    // does not hold one object per function for the whole analysis.
    private sealed class FunctionList(List<RuntimeFunction> primaries, Dictionary<int, List<RuntimeFunction>> fragments)
    {
        public int Count => primaries.Count;

        public FunctionLayout this[int index] => Layout(index, null);

        /// <summary>The layout of function <paramref name="index"/>; <paramref name="single"/>, made that function's, when it has no fragments.</summary>
        public FunctionLayout Layout(int index, FunctionLayout? single)
        {
            var primary = primaries[index];
            return fragments.TryGetValue(primary.Index, out var list) ? new FunctionLayout(primary, [primary, .. list])
                : single?.ResetToSingle(primary) ?? new FunctionLayout(primary, [primary]);
        }
    }

    private static bool Reportable(FunctionVerdict verdict) =>
        verdict.HasHazards || verdict.UnbalancedJoins.Count > 0 || verdict.Unfollowed.Count > 0 || verdict.NotAnalyzed is not null || verdict.UndocumentedForms.Count > 0;

    // ntdll's dispatchers are entered by the kernel with a context record on the stack, not by a
    // call: there is no return address at [entry rsp] to find.
    private static readonly HashSet<string> KernelEntered = new(StringComparer.Ordinal)
    {
        "KiUserExceptionDispatcher", "KiUserApcDispatcher", "KiUserCallbackDispatcher", "KiRaiseUserExceptionDispatcher",
    };

    // Null when the function is left out (its unwind data is malformed or not modelled).
    private static FunctionVerdict? VerifyOne(PeImage image, FunctionVerifier verifier, FunctionLayout function, Totals totals, CancellationToken cancellation)
    {
        if (image.Exports.NameOf(function.Primary.BeginAddress) is { } exported && KernelEntered.Contains(exported))
        {
            totals.NotModelled++;
            return null;
        }

        var directory = image.ExceptionDirectory;
        long depth = 0;
        var frameRegister = 0;
        StackState? entry = null;
        var fragments = function.Fragments;
        for (var f = 0; f < fragments.Count; f++)
        {
            // Nearly every fragment is its own chain: asked first, so most functions walk nothing.
            var fragment = fragments[f];
            var walk = directory.IsChainless(fragment) ? null : directory.WalkChain(fragment);
            if (walk is { IsSound: false })
            {
                totals.Malformed++;
                return null;
            }

            var chain = verifier.Chain;
            chain.Clear();
            for (var k = (walk?.Path.Count ?? 1) - 1; k >= 0; k--)
            {
                if (directory.UnwindInfoOf(walk?.Path[k] ?? fragment) is not { } info || info.Problems.Length > 0)
                {
                    totals.Malformed++;
                    return null;
                }

                if (info.Version > 2)
                {
                    totals.Version3++;
                    return null;
                }

                chain.Add(info);
                frameRegister = fragment.Index == function.Primary.Index && info.FrameRegister != 0 ? info.FrameRegister : frameRegister;
            }

            if (fragment.Index == function.Primary.Index
                && (!FrameRecipe.TryFrameDepth(chain, out depth) || !FrameRecipe.TryEntryState(chain[^1], entry = verifier.EntryState)))
            {
                totals.NotModelled++;
                return null;
            }
        }

        var verdict = verifier.Verify(function, entry!, depth, frameRegister, cancellation);
        verdict.Description = Describe(image, function);
        totals.Verified++;
        totals.Checked += verdict.InstructionsChecked;
        totals.Unjudged += verdict.InstructionsUnjudged;
        totals.Exits += verdict.ExitsReached;
        return verdict;
    }

    // Codes that say nothing, and a language handler that is not one of the compilers' standard ones.
    private static FrameDescription Describe(PeImage image, FunctionLayout function)
    {
        var directory = image.ExceptionDirectory;
        if (directory.UnwindInfoOf(function.Primary) is not { CountOfCodes: 0, HasHandler: true, HandlerRva: { } handler })
        {
            return FrameDescription.Described;
        }

        var name = image.LanguageHandlers.Identify(handler)?.Name;
        var standard = name is not null && (name.StartsWith("__C", StringComparison.Ordinal) || name.StartsWith("_C", StringComparison.Ordinal)
            || name.StartsWith("__GSHandlerCheck", StringComparison.Ordinal) || name.StartsWith("__CxxFrameHandler", StringComparison.Ordinal));
        return standard ? FrameDescription.Described : FrameDescription.HandlerOnly;
    }
}
