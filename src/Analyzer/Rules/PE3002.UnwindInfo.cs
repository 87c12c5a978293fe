using Pelint.Engine;
using Pelint.Pe;
using Pelint.Pe.Exceptions;
using static Pelint.Rules.UnwindRuleSupport;

namespace Pelint.Rules;

/// <summary>PE3002: every UNWIND_INFO decodes: version, flags, codes, offsets, frame register, prolog size.</summary>
public sealed class UnwindInfoRule : IRule
{
    /// <summary>Problems about version 2 epilog codes, reported by PE3008 instead.</summary>
    internal static readonly HashSet<string> EpilogProblemCodes = ["epilog-misplaced"];

    public string Id => "PE3002";

    public Applicability GetApplicability(PeImage image) => X64WithExceptionDirectory(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var directory = ExceptionDirectory.Of(image);
        var name = context.FileName;
        var findings = new List<Finding>();
        var seen = new HashSet<uint>();
        foreach (var f in directory.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (f.IsIndirect || !directory.IsX64(f) || !image.Map.IsMapped(f.UnwindInfoRva, 1))
            {
                continue; // indirect: PE3004; outside the image: PE3001.
            }

            var info = directory.GetUnwindInfo(f);
            var where = Location(image, f, $"UNWIND_INFO at 0x{info.Rva:X}") with { Rva = info.Rva, FileOffset = image.FileOffsetOf(info.Rva), Length = UnwindInfo.HeaderSize };
            var fn = Describe(image, f);
            var key = Key(image, f);
            if (seen.Add(info.Rva))
            {
                foreach (var p in info.Problems.Where(p => !EpilogProblemCodes.Contains(p.Code)))
                {
                    findings.Add(context.Report("malformed", where, $"{key}:{p.Code}", name, fn, p.Message));
                }
            }

            if (info.IsReadable && info.Version is 1 or 2 && info.SizeOfProlog > f.Length)
            {
                findings.Add(context.Report("prolog-too-long", where, $"{key}:prolog", name, fn, $"0x{info.SizeOfProlog:X}", $"0x{f.Length:X}"));
            }
        }

        return Cap(context, findings);
    }
}
