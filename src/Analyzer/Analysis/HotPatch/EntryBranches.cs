using Iced.Intel;
using Pelint.Pe;

namespace Pelint.Analysis.HotPatch;

/// <summary>A function whose own code branches back to its first instruction.</summary>
/// <param name="Entry">The function entry.</param>
/// <param name="FirstBranch">The lowest RVA of a branch (jmp, jcc, loop, jecxz) in the function that targets the entry.</param>
/// <param name="Count">How many such branches the function has.</param>
public readonly record struct EntryBranch(PatchableEntry Entry, uint FirstBranch, int Count);

/// <summary>
/// x86 functions that jump back to their own first instruction, which a hot-patch overwrites
/// with a 2-byte short jump (MSVC's <c>/hotpatch</c> promises that no jump in a function goes to
/// its first instruction). A function's code is found by recursive descent from its entry:
/// through fall-through, calls (assumed to return) and direct jumps, never through indirect
/// jumps, and not into another function: a jump to another entry, or to code that starts with
/// the hot-patch <c>mov edi, edi</c>, is a tail call. Bounded per function by
/// <see cref="MaxInstructions"/> and to the entry's executable section, and per image by
/// <see cref="MaxImageInstructions"/> (a hostile image of 65,535 exports into one long run of
/// code would otherwise cost billions of decodes).
/// </summary>
public sealed class EntryBranches
{
    /// <summary>The most instructions decoded per function.</summary>
    public const int MaxInstructions = 65_536;

    /// <summary>The most instructions decoded per image, over all its functions.</summary>
    public const int MaxImageInstructions = 8_000_000;

    private static readonly AnalysisKey<EntryBranches> Key = new("hot-patch-entry-branches", Build);

    private EntryBranches(IReadOnlyList<EntryBranch> functions, int checkedEntries, int entries)
    {
        Functions = functions;
        CheckedEntries = checkedEntries;
        Entries = entries;
    }

    /// <summary>The functions with at least one branch to their entry, by entry RVA.</summary>
    public IReadOnlyList<EntryBranch> Functions { get; }

    /// <summary>How many entries were followed before the image's budget ran out (all of them, normally).</summary>
    public int CheckedEntries { get; }

    /// <summary>How many entries the image has.</summary>
    public int Entries { get; }

    /// <summary>Whether every entry was followed within <see cref="MaxImageInstructions"/>.</summary>
    public bool IsComplete => CheckedEntries == Entries;

    public static EntryBranches Of(AnalysisContext context) => context.Get(Key);

    private static EntryBranches Build(AnalysisContext context)
    {
        var image = context.Image;
        var entries = HotPatchEntries.Of(context);
        var known = new HashSet<uint>(entries.Count);
        foreach (var e in entries)
        {
            known.Add(e.Rva);
        }

        var found = new List<EntryBranch>();
        using var cursor = image.Code.OpenCursor();
        using var reader = image.OpenReader();
        var walk = new Walk(image, cursor, reader, known);
        var checkedEntries = 0;
        foreach (var entry in entries)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (walk.Decoded >= MaxImageInstructions)
            {
                break;
            }

            if (walk.BranchesTo(entry.Rva) is { } hit)
            {
                found.Add(new EntryBranch(entry, hit.First, hit.Count));
            }

            checkedEntries++;
        }

        return new EntryBranches(found, checkedEntries, entries.Count);
    }

    /// <summary>One descent at a time, its sets reused between functions.</summary>
    private sealed class Walk(PeImage image, Pe.Code.CodeCursor cursor, Pe.IO.ImageReader reader, HashSet<uint> entries)
    {
        private readonly HashSet<uint> _visited = [];
        private readonly Stack<uint> _pending = new();

        /// <summary>Instructions decoded so far, over every function.</summary>
        public long Decoded { get; private set; }

        public (uint First, int Count)? BranchesTo(uint entry)
        {
            if (image.Map.FindSection(entry) is not { IsMemExecute: true } section)
            {
                return null;
            }

            _visited.Clear();
            _pending.Clear();
            _pending.Push(entry);
            var first = uint.MaxValue;
            var count = 0;
            var decoded = 0;
            while (_pending.Count > 0 && decoded < MaxInstructions)
            {
                var rva = _pending.Pop();

                // Straight-line code from rva until the path ends or meets code already seen.
                while (decoded < MaxInstructions && section.ContainsRva(rva) && _visited.Add(rva))
                {
                    if (!cursor.TryDecodeAt(rva, out var instruction) || instruction.IsInvalid)
                    {
                        break;
                    }

                    decoded++;
                    var next = (uint)instruction.NextIP;
                    var flow = instruction.FlowControl;
                    if (flow is FlowControl.UnconditionalBranch or FlowControl.ConditionalBranch)
                    {
                        if (!IsNearBranch(instruction))
                        {
                            break; // a far jump leaves the image's code
                        }

                        var target = (uint)instruction.NearBranchTarget;
                        if (target == entry)
                        {
                            first = Math.Min(first, rva);
                            count++;
                        }
                        else if (!IsOtherFunction(target))
                        {
                            _pending.Push(target);
                        }

                        if (flow == FlowControl.UnconditionalBranch)
                        {
                            break;
                        }
                    }
                    else if (flow is FlowControl.Return or FlowControl.IndirectBranch or FlowControl.Interrupt or FlowControl.Exception)
                    {
                        break;
                    }

                    rva = next;
                }
            }

            Decoded += decoded;
            return count > 0 ? (first, count) : null;
        }

        private static bool IsNearBranch(in Instruction instruction) =>
            instruction.Op0Kind is OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64;

        // Another function: a known entry, or code that starts with the hot-patch mov edi, edi (8B FF).
        private bool IsOtherFunction(uint target) =>
            entries.Contains(target) || (reader.TryGetSpan(target, 2, out var bytes) && bytes[0] == 0x8B && bytes[1] == 0xFF);
    }
}
