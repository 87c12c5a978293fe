using Pelint.Pe;
using Pelint.Pe.Exceptions;

namespace Pelint.Rules;

/// <summary>PE3001: the exception directory is a sorted, non-overlapping table of functions in code.</summary>
[Rule("PE3001")]
public sealed partial class ExceptionDirectoryRule : IRule
{
    public Applicability GetApplicability(PeImage image) => UnwindFacts.ForX64ExceptionData(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var directory = image.ExceptionDirectory;
        var name = context.FileName;
        foreach (var p in directory.Problems)
        {
            yield return Messages.Directory(new FindingLocation(p.FileOffset, p.Length, p.Rva, Description: "exception data directory"), $"directory:{p.Id}", name, p.Message);
        }

        RuntimeFunction? previous = null;
        foreach (var f in directory.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            // Location and description are built only for an entry that is reported (rarely one of
            // 200,000), and not at all past the rule's cap.
            if (f.BeginAddress >= f.EndAddress)
            {
                yield return context.IsPastCap ? Finding.PastCap
                    : Messages.EmptyRange(UnwindFacts.EntryLocation(context, f), $"{UnwindFacts.FunctionKey(context, f)}:empty", name, UnwindFacts.Describe(context, f), f.EndAddress);
            }

            if (previous is { } prev)
            {
                if (f.BeginAddress == prev.BeginAddress)
                {
                    // lld keeps one entry per folded copy of a function (identical code folding):
                    // the same range and unwind data twice, harmless whichever one a lookup finds.
                    if (!SameUnwind(directory, prev, f))
                    {
                        yield return context.IsPastCap ? Finding.PastCap
                            : Messages.Duplicate(UnwindFacts.EntryLocation(context, f), $"{UnwindFacts.FunctionKey(context, f)}:duplicate", name, UnwindFacts.Describe(context, f), f.Index,
                                prev.EndAddress, prev.UnwindData, f.EndAddress, f.UnwindData);
                    }
                }
                else if (f.BeginAddress < prev.BeginAddress)
                {
                    yield return context.IsPastCap ? Finding.PastCap
                        : Messages.Unsorted(UnwindFacts.EntryLocation(context, f), $"{UnwindFacts.FunctionKey(context, f)}:unsorted", name, UnwindFacts.Describe(context, f), f.Index, prev.BeginAddress);
                }
                else if (f.BeginAddress < prev.EndAddress)
                {
                    yield return context.IsPastCap ? Finding.PastCap
                        : Messages.Overlap(UnwindFacts.EntryLocation(context, f), $"{UnwindFacts.FunctionKey(context, f)}:overlap", name, UnwindFacts.Describe(context, f), prev.BeginAddress, prev.EndAddress);
                }
            }

            var section = image.Map.FindSection(f.BeginAddress);
            if (section is not { IsExecutable: true } || (ulong)f.EndAddress > (ulong)section.VirtualAddress + section.MappedSize)
            {
                yield return context.IsPastCap ? Finding.PastCap
                    : Messages.OutsideCode(UnwindFacts.EntryLocation(context, f), $"{UnwindFacts.FunctionKey(context, f)}:outside-code", name, UnwindFacts.Describe(context, f), f.EndAddress, section?.Name ?? "no section");
            }

            // ARM64 entries of an ARM64EC image pack unwind data into this field; only x64 entries point at UNWIND_INFO.
            if (!f.IsIndirect && directory.IsX64(f) && !image.Map.IsMapped(f.UnwindData, UnwindInfo.HeaderSize))
            {
                yield return context.IsPastCap ? Finding.PastCap
                    : Messages.UnwindOutside(UnwindFacts.EntryLocation(context, f), $"{UnwindFacts.FunctionKey(context, f)}:unwind-outside", name, UnwindFacts.Describe(context, f), f.UnwindData);
            }

            previous = f;
        }
    }

    /// <summary>Whether two entries for one function give the unwinder the same answer: same range and the same record (or equal records without handler data).</summary>
    private static bool SameUnwind(ExceptionDirectory directory, RuntimeFunction a, RuntimeFunction b)
    {
        if (a.EndAddress != b.EndAddress)
        {
            return false;
        }

        if (a.UnwindData == b.UnwindData)
        {
            return true;
        }

        if (a.IsIndirect || b.IsIndirect || directory.UnwindInfoOf(a) is not { IsDecoded: true, HasHandler: false, IsChained: false } x
            || directory.UnwindInfoOf(b) is not { IsDecoded: true, HasHandler: false, IsChained: false } y)
        {
            return false;
        }

        return x.Version == y.Version && x.Flags == y.Flags && x.SizeOfProlog == y.SizeOfProlog && x.FrameRegister == y.FrameRegister
            && x.FrameOffset == y.FrameOffset && x.Codes.SequenceEqual(y.Codes);
    }
}
