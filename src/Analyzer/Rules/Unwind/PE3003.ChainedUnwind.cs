using Pelint.Pe;
using Pelint.Pe.Exceptions;

namespace Pelint.Rules;

/// <summary>PE3003: CHAININFO chains end at a primary entry of the directory, within 32 links, without a cycle.</summary>
[Rule("PE3003")]
public sealed partial class ChainedUnwind : IRule
{
    public Applicability GetApplicability(PeImage image) => UnwindFacts.ForX64ExceptionData(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var directory = image.ExceptionDirectory;
        foreach (var f in directory.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (!directory.IsX64(f) || directory.UnwindInfoOf(f) is not { IsChained: true })
            {
                continue;
            }

            var walk = directory.WalkChain(f);
            if (!walk.IsSound && walk.Problem!.Code != ProblemCode.ChainIndirectUnresolved)
            {
                yield return context.IsPastCap ? Finding.PastCap
                    : Messages.BrokenChain(UnwindFacts.EntryLocation(context, f), $"{UnwindFacts.FunctionKey(context, f)}:{walk.Problem!.Id}",
                        context.FileName, UnwindFacts.Describe(context, f), walk.Problem!.Message, UnwindFacts.Path(walk.Path));
            }
        }
    }
}
