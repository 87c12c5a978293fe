using Pelint.Engine;
using Pelint.Pe;
using Pelint.Pe.Exceptions;
using static Pelint.Rules.UnwindRuleSupport;

namespace Pelint.Rules;

/// <summary>PE3003: every CHAININFO chain ends at a primary entry of the directory within 32 links, without a cycle.</summary>
public sealed class ChainedUnwindRule : IRule
{
    public string Id => "PE3003";

    public Applicability GetApplicability(PeImage image) => X64WithExceptionDirectory(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var directory = ExceptionDirectory.Of(image);
        var findings = new List<Finding>();
        foreach (var f in directory.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (f.IsIndirect || !directory.IsX64(f) || !image.Map.IsMapped(f.UnwindInfoRva, 1))
            {
                continue;
            }

            var info = directory.GetUnwindInfo(f);
            if (!info.IsReadable || !info.IsChained)
            {
                continue;
            }

            var walk = directory.WalkChain(f);
            if (walk.IsComplete)
            {
                continue;
            }

            var why = walk.Problem switch
            {
                ChainProblem.Cycle => "it loops back to an entry already visited",
                ChainProblem.TooDeep => $"it is longer than {ExceptionDirectory.ChainLimit} links (the unwinder's limit)",
                ChainProblem.Dangling => $"the chained entry is not in the exception directory: {walk.Detail}",
                ChainProblem.Mismatch => walk.Detail ?? "the chained entry differs from the directory's",
                ChainProblem.NotAtEntryBoundary => walk.Detail ?? "an indirect link is not at an entry boundary",
                _ => walk.Detail ?? walk.Problem.ToString(),
            };
            var where = Location(image, f, "chained UNWIND_INFO") with { Rva = info.Rva, FileOffset = image.FileOffsetOf(info.TrailerRva), Length = RuntimeFunction.Size };
            findings.Add(context.Report("broken", where, $"{Key(image, f)}:{walk.Problem}", context.FileName, Describe(image, f), why, walk.Describe()));
        }

        return Cap(context, findings);
    }
}
