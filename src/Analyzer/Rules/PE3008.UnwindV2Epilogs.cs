using Pelint.Engine;
using Pelint.Pe;
using Pelint.Pe.Exceptions;
using static Pelint.Rules.UnwindRuleSupport;

namespace Pelint.Rules;

/// <summary>PE3008: version 2 UWOP_EPILOG codes come first and describe epilogs inside the function.</summary>
public sealed class UnwindV2EpilogsRule : IRule
{
    public string Id => "PE3008";

    public Applicability GetApplicability(PeImage image) => X64WithExceptionDirectory(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var directory = ExceptionDirectory.Of(image);
        var name = context.FileName;
        var findings = new List<Finding>();
        foreach (var f in directory.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (f.IsIndirect || !directory.IsX64(f) || !image.Map.IsMapped(f.UnwindInfoRva, 1))
            {
                continue;
            }

            var info = directory.GetUnwindInfo(f);
            if (!info.IsReadable || info.Version != 2)
            {
                continue;
            }

            var fn = Describe(image, f);
            var key = Key(image, f);
            var where = Location(image, f, $"UNWIND_INFO at 0x{info.Rva:X}") with { Rva = info.Rva, FileOffset = image.FileOffsetOf(info.Rva), Length = UnwindInfo.HeaderSize };
            foreach (var p in info.Problems.Where(p => UnwindInfoRule.EpilogProblemCodes.Contains(p.Code)))
            {
                findings.Add(context.Report("misplaced", where, $"{key}:{p.Code}", name, fn, p.Message));
            }

            if (info.CountOfCodes > 0 && info.EpilogSize is null)
            {
                findings.Add(context.Report("no-epilog-code", where, $"{key}:first", name, fn));
                continue;
            }

            if (info.EpilogSize is { } size && (size == 0 || size > f.Length))
            {
                findings.Add(context.Report("bad-size", where, $"{key}:size", name, fn, $"0x{size:X}", $"0x{f.Length:X}"));
                continue;
            }

            foreach (var e in info.Epilogs)
            {
                if (e.OffsetFromEnd > f.Length || e.OffsetFromEnd < e.Size)
                {
                    findings.Add(context.Report("outside", where, $"{key}:epilog:{e.OffsetFromEnd}", name, fn, $"0x{e.OffsetFromEnd:X}", $"0x{e.Size:X}", $"0x{f.Length:X}"));
                }
            }
        }

        return Cap(context, findings);
    }
}
