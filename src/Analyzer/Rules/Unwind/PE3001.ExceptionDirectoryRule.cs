using Pelint.Pe;
using Pelint.Pe.Exceptions;

namespace Pelint.Rules;

/// <summary>PE3001: the exception directory is a sorted, non-overlapping table of functions in code.</summary>
public sealed class ExceptionDirectoryRule : IRule
{
    public string Id => "PE3001";

    public Applicability GetApplicability(PeImage image) => UnwindFacts.ForX64ExceptionData(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var directory = image.ExceptionDirectory;
        var findings = new List<Finding>();
        var name = context.FileName;
        foreach (var p in directory.Problems)
        {
            findings.Add(context.Report("directory", new FindingLocation(p.FileOffset, p.Length, p.Rva, Description: "exception data directory"), $"directory:{p.Id}", name, p.Message));
        }

        RuntimeFunction? previous = null;
        foreach (var f in directory.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            // Location and description are built only for an entry that is reported (rarely one of 200,000).
            if (f.BeginAddress >= f.EndAddress)
            {
                findings.Add(context.Report("empty-range", UnwindFacts.EntryLocation(context, f), $"{UnwindFacts.FunctionKey(context, f)}:empty", name, UnwindFacts.Describe(context, f), UnwindFacts.Hex(f.EndAddress)));
            }

            if (previous is { } prev)
            {
                if (f.BeginAddress <= prev.BeginAddress)
                {
                    findings.Add(context.Report("unsorted", UnwindFacts.EntryLocation(context, f), $"{UnwindFacts.FunctionKey(context, f)}:unsorted", name, UnwindFacts.Describe(context, f), f.Index.ToString(System.Globalization.CultureInfo.InvariantCulture), UnwindFacts.Hex(prev.BeginAddress)));
                }
                else if (f.BeginAddress < prev.EndAddress)
                {
                    findings.Add(context.Report("overlap", UnwindFacts.EntryLocation(context, f), $"{UnwindFacts.FunctionKey(context, f)}:overlap", name, UnwindFacts.Describe(context, f), UnwindFacts.Hex(prev.BeginAddress), UnwindFacts.Hex(prev.EndAddress)));
                }
            }

            var section = image.Map.FindSection(f.BeginAddress);
            if (section is not { IsExecutable: true } || (ulong)f.EndAddress > (ulong)section.VirtualAddress + section.MappedSize)
            {
                findings.Add(context.Report("outside-code", UnwindFacts.EntryLocation(context, f), $"{UnwindFacts.FunctionKey(context, f)}:outside-code", name, UnwindFacts.Describe(context, f), UnwindFacts.Hex(f.EndAddress), section?.Name ?? "no section"));
            }

            // ARM64 entries of an ARM64EC image pack unwind data into this field; only x64 entries point at UNWIND_INFO.
            if (!f.IsIndirect && directory.IsX64(f) && !image.Map.IsMapped(f.UnwindData, UnwindInfo.HeaderSize))
            {
                findings.Add(context.Report("unwind-outside", UnwindFacts.EntryLocation(context, f), $"{UnwindFacts.FunctionKey(context, f)}:unwind-outside", name, UnwindFacts.Describe(context, f), UnwindFacts.Hex(f.UnwindData)));
            }

            previous = f;
        }

        return UnwindFacts.Capped(context, findings);
    }
}
