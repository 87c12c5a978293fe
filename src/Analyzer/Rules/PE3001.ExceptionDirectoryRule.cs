using Pelint.Engine;
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
        var directory = ExceptionDirectory.Of(image);
        var findings = new List<Finding>();
        var name = context.FileName;
        foreach (var p in directory.Problems)
        {
            findings.Add(context.Report("directory", new FindingLocation(p.FileOffset, p.Length, p.Rva, Description: "exception data directory"), $"directory:{p.Code}", name, p.Message));
        }

        RuntimeFunction? previous = null;
        foreach (var f in directory.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var where = UnwindFacts.EntryLocation(image, f);
            var what = UnwindFacts.Describe(image, f);
            if (f.BeginAddress >= f.EndAddress)
            {
                findings.Add(context.Report("empty-range", where, $"{UnwindFacts.FunctionKey(image, f)}:empty", name, what, UnwindFacts.Hex(f.EndAddress)));
            }

            if (previous is { } prev)
            {
                if (f.BeginAddress <= prev.BeginAddress)
                {
                    findings.Add(context.Report("unsorted", where, $"{UnwindFacts.FunctionKey(image, f)}:unsorted", name, what, f.Index.ToString(System.Globalization.CultureInfo.InvariantCulture), UnwindFacts.Hex(prev.BeginAddress)));
                }
                else if (f.BeginAddress < prev.EndAddress)
                {
                    findings.Add(context.Report("overlap", where, $"{UnwindFacts.FunctionKey(image, f)}:overlap", name, what, UnwindFacts.Hex(prev.BeginAddress), UnwindFacts.Hex(prev.EndAddress)));
                }
            }

            var section = image.Map.FindSection(f.BeginAddress);
            if (section is not { IsExecutable: true } || (ulong)f.EndAddress > (ulong)section.VirtualAddress + section.MappedSize)
            {
                findings.Add(context.Report("outside-code", where, $"{UnwindFacts.FunctionKey(image, f)}:outside-code", name, what, UnwindFacts.Hex(f.EndAddress), section?.Name ?? "no section"));
            }

            // ARM64 entries of an ARM64EC image pack unwind data into this field; only x64 entries point at UNWIND_INFO.
            if (!f.IsIndirect && directory.IsX64(f) && !image.Map.IsMapped(f.UnwindData, UnwindInfo.HeaderSize))
            {
                findings.Add(context.Report("unwind-outside", where, $"{UnwindFacts.FunctionKey(image, f)}:unwind-outside", name, what, UnwindFacts.Hex(f.UnwindData)));
            }

            previous = f;
        }

        return UnwindFacts.Capped(context, findings);
    }
}
