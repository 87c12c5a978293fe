using Pelint.Engine;
using Pelint.Pe;
using Pelint.Pe.Exceptions;
using static Pelint.Rules.UnwindRuleSupport;

namespace Pelint.Rules;

/// <summary>PE3001: the exception directory is a sorted, non-overlapping table of entries inside executable code.</summary>
public sealed class ExceptionDirectoryRule : IRule
{
    public string Id => "PE3001";

    public Applicability GetApplicability(PeImage image) => X64WithExceptionDirectory(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var directory = ExceptionDirectory.Of(image);
        var name = context.FileName;
        var findings = new List<Finding>();
        foreach (var p in directory.Problems)
        {
            findings.Add(context.Report("framing", new FindingLocation(p.FileOffset, p.Length, p.Rva, Description: "exception directory"), $"framing:{p.Code}", name, p.Message));
        }

        RuntimeFunction? previous = null;
        foreach (var f in directory.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var where = Location(image, f, $"RUNTIME_FUNCTION {f.Index}");
            var fn = Describe(image, f);
            var key = Key(image, f);
            var x64 = directory.IsX64(f);
            if (previous is { } prev)
            {
                if (f.BeginAddress < prev.BeginAddress)
                {
                    findings.Add(context.Report("unsorted", where, $"{key}:unsorted", name, Num(f.Index), fn, $"0x{prev.BeginAddress:X}"));
                }
                else if (x64 && directory.IsX64(prev) && f.BeginAddress < prev.EndAddress)
                {
                    findings.Add(context.Report("overlap", where, $"{key}:overlap", name, Num(f.Index), fn, $"0x{prev.BeginAddress:X}", $"0x{prev.EndAddress:X}"));
                }
            }

            previous = f;
            if (!x64)
            {
                continue; // ARM64 entries of an ARM64EC image have another layout.
            }

            if (f.BeginAddress >= f.EndAddress)
            {
                findings.Add(context.Report("empty", where, $"{key}:empty", name, Num(f.Index), fn, $"0x{f.EndAddress:X}"));
            }
            else
            {
                var section = image.Map.FindSection(f.BeginAddress);
                if (section is null || !section.IsExecutable || (ulong)f.EndAddress > (ulong)section.VirtualAddress + section.MappedSize)
                {
                    findings.Add(context.Report("not-in-code", where, $"{key}:code", name, Num(f.Index), fn, $"0x{f.EndAddress:X}"));
                }
            }

            if (!image.Map.IsMapped(f.UnwindInfoRva, f.IsIndirect ? (uint)RuntimeFunction.Size : UnwindInfo.HeaderSize))
            {
                findings.Add(context.Report("unwind-outside", where, $"{key}:unwind", name, Num(f.Index), fn, $"0x{f.UnwindData:X}"));
            }
        }

        return Cap(context, findings);
    }
}
