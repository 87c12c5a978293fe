using Iced.Intel;
using Pelint.Pe;
using Pelint.Pe.Code;
using Pelint.Pe.Exceptions;

namespace Pelint.Epilogs;

/// <summary>
/// One epilog of a function: where it starts and exits, its bytes, the forward-scan verdict and,
/// when it does not undo the frame the unwind codes describe, what it gets wrong.
/// </summary>
public sealed record EpilogSite(
    RuntimeFunction Fragment,
    RuntimeFunction Primary,
    string FunctionName,
    string FunctionKey,
    int Ordinal,
    uint StartRva,
    uint ExitRva,
    uint EndRva,
    string Bytes,
    EpilogVerdict Verdict,
    string? Deviation,
    string? Scheduled,
    uint? ScheduledRva,
    string? Mismatch);

/// <summary>A version 2 UWOP_EPILOG entry with no epilog found at its place.</summary>
public sealed record EpilogWitnessDisagreement(RuntimeFunction Fragment, string FunctionName, string FunctionKey, uint EpilogRva);

/// <summary>
/// Every epilog of every x64 function in .pdata (chained fragments attributed to their primary),
/// computed once per image. Each fragment's bytes are decoded once; nothing else is.
/// </summary>
public sealed class EpilogAnalysis
{
    private EpilogAnalysis(IReadOnlyList<EpilogSite> epilogs, IReadOnlyList<EpilogWitnessDisagreement> disagreements, int functions, int fragments, int skipped, int v2Compared)
    {
        Epilogs = epilogs;
        WitnessDisagreements = disagreements;
        FunctionsChecked = functions;
        FragmentsChecked = fragments;
        FragmentsSkipped = skipped;
        V2EpilogsCompared = v2Compared;
    }

    public IReadOnlyList<EpilogSite> Epilogs { get; }

    public IReadOnlyList<EpilogWitnessDisagreement> WitnessDisagreements { get; }

    /// <summary>Primary functions whose fragments were decoded.</summary>
    public int FunctionsChecked { get; }

    /// <summary>.pdata entries decoded (primaries and chained fragments).</summary>
    public int FragmentsChecked { get; }

    /// <summary>Entries left out: broken chains (PE3003/PE3004 report them) or ARM64 code.</summary>
    public int FragmentsSkipped { get; }

    /// <summary>Version 2 UWOP_EPILOG entries compared with the scan.</summary>
    public int V2EpilogsCompared { get; }

    public static EpilogAnalysis Of(PeImage image) => image.GetView(Build);

    private static EpilogAnalysis Build(PeImage image)
    {
        var directory = ExceptionDirectory.Of(image);
        var code = ImageCode.Of(image);
        var epilogs = new List<EpilogSite>();
        var disagreements = new List<EpilogWitnessDisagreement>();
        var models = new Dictionary<uint, FrameModel>();
        var ordinals = new Dictionary<uint, int>();
        var primaries = new HashSet<uint>();
        int fragments = 0, skipped = 0, v2Compared = 0;

        // Switch-table references seen so far, sorted by table RVA. Entries are in address order
        // and a table follows the code that indexes it, often in a later fragment of the function.
        var references = new List<(uint Start, int Scale)>();
        foreach (var entry in directory.Functions)
        {
            var walk = directory.WalkChain(entry);
            if (!directory.IsX64(entry) || walk.End is not { } primary || entry.Length == 0)
            {
                skipped++;
                continue;
            }

            var infos = new List<UnwindInfo>(walk.Path.Count);
            for (var k = walk.Path.Count - 1; k >= 0; k--)
            {
                if (directory.UnwindInfoOf(walk.Path[k]) is { } info)
                {
                    infos.Add(info);
                }
            }

            // Unwind info that PE3002 reports as malformed describes no frame to compare with.
            if (infos.Count != walk.Path.Count || infos.Exists(i => i.Problems.Count > 0))
            {
                skipped++;
                continue;
            }

            fragments++;
            primaries.Add(primary.BeginAddress);
            var own = infos[^1];
            var primaryInfo = infos[0];
            var frameRegister = infos.Select(i => (int)i.FrameRegister).LastOrDefault(r => r != 0);
            if (!models.TryGetValue(entry.TargetRva, out var model))
            {
                model = FrameModel.FromChain(infos);
                models[entry.TargetRva] = model;
            }

            var name = image.Exports.NameOf(primary.BeginAddress) ?? $"sub_{primary.BeginAddress:X}";
            var key = Rules.UnwindFacts.FunctionKey(image, primary); // export name, else section#ordinal: stable across rebuilds
            // MSVC shrink-wrapping can put an epilog's last instruction (the ret) in a chained
            // fragment of its own, right after the fragment holding the release and the pops:
            // decode that adjacent fragment of the same function too, so the walk back sees them.
            var decodeFrom = entry.BeginAddress;
            if (walk.Path.Count > 1 && entry.Index > 0 && directory.Functions[entry.Index - 1] is var before
                && before.EndAddress == entry.BeginAddress && before.Length > 0 && directory.PrimaryOf(before)?.BeginAddress == primary.BeginAddress)
            {
                decodeFrom = before.BeginAddress;
            }

            var length = (int)Math.Min(entry.EndAddress - decodeFrom, ImageCode.MaxDecodeBytes);
            var block = code.Decode(decodeFrom, length);
            if (block.Count == 0)
            {
                continue;
            }

            // MSVC places switch tables in .text after the code; decoding them as instructions
            // yields phantom rets. Decode around them instead.
            if (image.Map.FindSection(entry.BeginAddress) is { } section)
            {
                foreach (var reference in JumpTables.References(block, section.VirtualAddress, section.VirtualAddress + section.MappedSize))
                {
                    var at = references.BinarySearch(reference, ReferenceOrder);
                    references.Insert(at < 0 ? ~at : at, reference);
                }
            }

            var tables = JumpTables.Ranges(image, InRange(references, decodeFrom, entry.EndAddress), decodeFrom, entry.EndAddress);
            if (tables.Count > 0)
            {
                block = DecodeAround(code, decodeFrom, (uint)length, tables);
                if (block.Count == 0)
                {
                    continue; // nothing but table data
                }
            }

            var bytes = ReadBytes(image, decodeFrom, block);
            // As the unwinder's SameFunction: a jump into another fragment of the same function
            // stays inside; a jump to the primary's own start is a recursive tail call, an exit.
            bool Inside(ulong target) =>
                target != primary.BeginAddress
                && entry.Contains((uint)Math.Min(target, uint.MaxValue))
                || (target <= uint.MaxValue && directory.FindContaining((uint)target) is { } other && directory.PrimaryOf(other)?.BeginAddress == primary.BeginAddress);

            var spans = new List<(uint Start, uint Exit)>();
            for (var i = 0; i < block.Count; i++)
            {
                var instruction = block[i];
                if (instruction.IP < entry.BeginAddress || !EpilogMatcher.IsExit(instruction, bytes, Inside))
                {
                    continue;
                }

                // An exit inside the primary's prolog is not reachable as an epilog.
                if (entry.BeginAddress == primary.BeginAddress && instruction.IP < entry.BeginAddress + (ulong)primaryInfo.SizeOfProlog)
                {
                    continue;
                }

                var shape = EpilogMatcher.Classify(block, i, frameRegister);
                if (instruction.Mnemonic == Mnemonic.Jmp && shape.StartIndex == i && shape.Verdict != EpilogVerdict.Broken && model.Depth > 0)
                {
                    // A jump out of a function that still holds its frame is a branch to shared
                    // or cold code, not a tail call.
                    continue;
                }

                var start = (uint)block[shape.StartIndex].IP;
                var exitEnd = (uint)instruction.NextIP;
                spans.Add((start, (uint)instruction.IP));
                string? mismatch = null;
                if (shape.Verdict != EpilogVerdict.Broken && model.NotModelled is null)
                {
                    mismatch = model.Replay(Range(block, shape.StartIndex, i), frameRegister);
                }

                var ordinal = ordinals.TryGetValue(primary.BeginAddress, out var n) ? n + 1 : 1;
                ordinals[primary.BeginAddress] = ordinal;
                string? scheduled = shape.ScheduledIndex is { } s ? block[s].ToString() : null;
                uint? scheduledRva = shape.ScheduledIndex is { } t ? (uint)block[t].IP : null;
                epilogs.Add(new EpilogSite(entry, primary, name, key, ordinal, start, (uint)instruction.IP, exitEnd,
                    bytes.Hex(start, exitEnd), shape.Verdict, shape.Deviation, scheduled, scheduledRva, mismatch));
            }

            if (own.Epilogs is { } v2)
            {
                foreach (var v2Start in v2.StartsFor(entry))
                {
                    if (!entry.Contains(v2Start))
                    {
                        continue; // PE3008 reports epilog codes outside the function.
                    }

                    v2Compared++;
                    // A v2 epilog may be described from its pops on (after the frame release), so it
                    // agrees when it starts anywhere in an epilog the scan found.
                    if (!spans.Exists(span => v2Start >= span.Start && v2Start <= span.Exit))
                    {
                        disagreements.Add(new EpilogWitnessDisagreement(entry, name, key, v2Start));
                    }
                }
            }
        }

        return new EpilogAnalysis(epilogs, disagreements, primaries.Count, fragments, skipped, v2Compared);
    }

    private static readonly Comparer<(uint Start, int Scale)> ReferenceOrder = Comparer<(uint Start, int Scale)>.Create((a, b) => a.Start.CompareTo(b.Start));

    private static IEnumerable<(uint Start, int Scale)> InRange(List<(uint Start, int Scale)> sorted, uint begin, uint end)
    {
        // Lower bound by binary search; the list is sorted by start.
        int lo = 0, hi = sorted.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid].Start < begin)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        for (var k = lo; k < sorted.Count && sorted[k].Start < end; k++)
        {
            yield return sorted[k];
        }
    }

    private static List<Instruction> DecodeAround(ImageCode code, uint begin, uint length, IReadOnlyList<(uint Start, uint End)> data)
    {
        var list = new List<Instruction>();
        var cursor = begin;
        var end = begin + length;
        foreach (var (start, stop) in data)
        {
            if (start > cursor)
            {
                list.AddRange(code.Decode(cursor, (int)(start - cursor)));
            }

            cursor = Math.Max(cursor, stop);
        }

        if (cursor < end)
        {
            list.AddRange(code.Decode(cursor, (int)(end - cursor)));
        }

        return list;
    }

    private static IEnumerable<Instruction> Range(IReadOnlyList<Instruction> block, int from, int to)
    {
        for (var k = from; k < to; k++)
        {
            yield return block[k];
        }
    }

    private static CodeBytes ReadBytes(PeImage image, uint rva, IReadOnlyList<Instruction> block)
    {
        var length = (int)Math.Min(block[^1].NextIP - rva, ImageCode.MaxDecodeBytes);
        var span = image.Map.GetAvailableSpan(image.Bytes, rva, length);
        return new CodeBytes(span.ToArray(), rva);
    }
}
